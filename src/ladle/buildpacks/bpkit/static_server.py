"""The start command of a staticfile app: serve the site on ``$PORT``.

Copied into the droplet by the staticfile buildpack (as ``deps/<index>/staticfile/serve.py``,
next to the ``config.json`` the buildpack wrote from the app's ``Staticfile``). With nginx on
the host it writes an nginx configuration and becomes nginx; otherwise it serves the site itself
with Python's ``http.server``. ``STATICFILE_SERVER=nginx|python`` forces one. Standard library
only: it runs under the host's python3.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import html
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/bin/nginx")
# Files of the app itself that are never part of the site when the site is the whole app dir.
APP_FILES = frozenset({"Staticfile", "Staticfile.auth", "manifest.yml", "Procfile"})
TEXT_TYPES = ("text/", "application/javascript", "application/json", "application/xml", "image/svg+xml")
APR_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --- passwords of Staticfile.auth (htpasswd lines) -------------------------------------------------
def _to64(value: int, count: int) -> str:
    out = ""
    for _ in range(count):
        out += APR_ALPHABET[value & 0x3F]
        value >>= 6
    return out


def md5_crypt(password: bytes, salt: bytes, magic: bytes) -> str:
    """The MD5-based crypt of htpasswd ``$apr1$`` (and glibc ``$1$``) hashes."""
    salt = salt[:8]
    alternate = hashlib.md5(password + salt + password).digest()
    material = password + magic + salt
    for remaining in range(len(password), 0, -16):
        material += alternate[: min(16, remaining)]
    length = len(password)
    while length:
        material += b"\0" if length & 1 else password[:1]
        length >>= 1
    digest = hashlib.md5(material).digest()
    for round_ in range(1000):
        block = password if round_ & 1 else digest
        if round_ % 3:
            block += salt
        if round_ % 7:
            block += password
        block += digest if round_ & 1 else password
        digest = hashlib.md5(block).digest()
    encoded = "".join(
        _to64(digest[a] << 16 | digest[b] << 8 | digest[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    )
    return (magic + salt).decode() + "$" + encoded + _to64(digest[11], 2)


def password_matches(password: str, hashed: str) -> bool:
    """htpasswd formats nginx reads without the system's crypt(): apr1/MD5, {SHA}, {SSHA}, {PLAIN}."""
    secret = password.encode()
    if hashed.startswith("{PLAIN}"):
        return hmac.compare_digest(hashed[7:].encode(), secret)
    if hashed.startswith("{SHA}"):
        return hmac.compare_digest(hashed[5:].encode(), base64.b64encode(hashlib.sha1(secret).digest()))
    if hashed.startswith("{SSHA}"):
        try:
            raw = base64.b64decode(hashed[6:])
        except ValueError:
            return False
        return hmac.compare_digest(raw[:20], hashlib.sha1(secret + raw[20:]).digest())
    for magic in ("$apr1$", "$1$"):
        if hashed.startswith(magic):
            salt = hashed[len(magic) :].split("$", 1)[0].encode()
            return hmac.compare_digest(md5_crypt(secret, salt, magic.encode()).encode(), hashed.encode())
    return False


def read_htpasswd(path: Path) -> dict[str, str]:
    users = {}
    for line in path.read_text(errors="replace").splitlines():
        name, sep, hashed = line.strip().partition(":")
        if sep and name and not name.startswith("#"):
            users[name] = hashed.strip()
    return users


# --- Python's http.server -------------------------------------------------------------------------
class StaticHandler(SimpleHTTPRequestHandler):
    """Files under the root with their content types, ``index.html`` for directories, 404s, and
    the Staticfile options: pushstate, directory listings, dot files, HTTPS, basic auth."""

    protocol_version = "HTTP/1.1"
    server_version = "ladle-staticfile"
    config: dict[str, Any] = {}
    root = ""
    users: dict[str, str] = {}

    def end_headers(self) -> None:
        if self.config.get("hsts"):
            self.send_header("Strict-Transport-Security", "max-age=31536000")
        super().end_headers()

    def send_head(self) -> IO[bytes] | None:  # type: ignore[override]
        parts = urlsplit(self.path)
        if self.config.get("force_https") and self.headers.get("X-Forwarded-Proto", "").lower() == "http":
            self._redirect("https://" + self.headers.get("Host", "") + self.path, HTTPStatus.MOVED_PERMANENTLY)
            return None
        if self.users and not self._authorized():
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="Restricted"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        path = unquote(parts.path)
        if self._hidden(path):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        target = self.translate_path(parts.path)
        real = os.path.realpath(target)
        if real != self.root and not real.startswith(self.root + os.sep):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        if os.path.isdir(target):
            if not parts.path.endswith("/"):
                location = quote(path) + "/" + ("?" + parts.query if parts.query else "")
                self._redirect(location, HTTPStatus.MOVED_PERMANENTLY)
                return None
            for index in ("index.html", "index.htm"):
                if os.path.isfile(os.path.join(target, index)):
                    return self._file(os.path.join(target, index))
            if self.config.get("directory_listing"):
                return self._listing(target, path)
            # As nginx answers for a directory it may not list (pushstate or not).
            self.send_error(HTTPStatus.FORBIDDEN)
            return None
        if os.path.isfile(target):
            return self._file(target)
        if self.config.get("pushstate") and os.path.isfile(os.path.join(self.root, "index.html")):
            # Client-side routes: any path that is not a file gets the app's index.html.
            return self._file(os.path.join(self.root, "index.html"))
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def _authorized(self) -> bool:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            name, _, password = base64.b64decode(value.strip()).decode("utf-8", "replace").partition(":")
        except ValueError:
            return False
        hashed = self.users.get(name)
        return hashed is not None and password_matches(password, hashed)

    def _hidden(self, path: str) -> bool:
        names = [p for p in path.split("/") if p]
        if not self.config.get("host_dot_files") and any(n.startswith(".") for n in names):
            return True
        return bool(self.config.get("root_is_app")) and len(names) == 1 and names[0] in APP_FILES

    def _redirect(self, location: str, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _content_type(self, path: str) -> str:
        kind = self.guess_type(path)
        return f"{kind}; charset=utf-8" if kind.startswith(TEXT_TYPES) else kind

    def _file(self, path: str) -> IO[bytes] | None:
        handle = open(path, "rb")  # noqa: SIM115 (the base class copies and closes it)
        stat = os.fstat(handle.fileno())
        modified = datetime.fromtimestamp(int(stat.st_mtime), timezone.utc)
        since = self.headers.get("If-Modified-Since")
        if since and "If-None-Match" not in self.headers:
            try:
                if modified <= email.utils.parsedate_to_datetime(since):
                    handle.close()
                    self.send_response(HTTPStatus.NOT_MODIFIED)
                    self.end_headers()
                    return None
            except (TypeError, ValueError, IndexError):
                pass
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self._content_type(path))
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("Last-Modified", email.utils.format_datetime(modified, usegmt=True))
        self.end_headers()
        return handle

    def _listing(self, directory: str, path: str) -> IO[bytes]:
        names = sorted(os.listdir(directory), key=str.lower)
        rows = []
        for name in names:
            if self._hidden(path.rstrip("/") + "/" + name):
                continue
            shown = name + ("/" if os.path.isdir(os.path.join(directory, name)) else "")
            rows.append(f'<a href="{quote(shown)}">{html.escape(shown)}</a>')
        title = html.escape(f"Index of {path}")
        body = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1><hr><pre>\n"
        body += '<a href="../">../</a>\n' + "\n".join(rows) + "\n</pre><hr></body></html>\n"
        data = body.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)


def serve_with_python(config: dict[str, Any], root: str, port: int, users: dict[str, str]) -> None:
    handler = type("Handler", (StaticHandler,), {"config": config, "root": root, "users": users})
    server = ThreadingHTTPServer(("0.0.0.0", port), functools.partial(handler, directory=root))
    server.daemon_threads = True
    print(f"Serving {root} on port {port} with Python's http.server", flush=True)
    server.serve_forever()


# --- nginx ----------------------------------------------------------------------------------------
def nginx_config(config: dict[str, Any], root: str, port: int, work: Path, auth_file: Path | None) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    mime = (
        "include /etc/nginx/mime.types;"
        if os.path.isfile("/etc/nginx/mime.types")
        else "types { text/html html htm; text/css css; application/javascript js; application/json json; }"
    )
    location = ["try_files $uri $uri/ /index.html;"] if config.get("pushstate") else []
    if auth_file is not None:
        location += ['auth_basic "Restricted";', f"auth_basic_user_file {auth_file};"]
    server = [f"listen {port};", f"root {root};", "index index.html index.htm;", "absolute_redirect off;"]
    if config.get("directory_listing"):
        server.append("autoindex on;")
    if config.get("hsts"):
        server.append('add_header Strict-Transport-Security "max-age=31536000" always;')
    if config.get("force_https"):
        server.append('if ($http_x_forwarded_proto = "http") { return 301 https://$host$request_uri; }')
    if not config.get("host_dot_files"):
        server.append(r"location ~ (^|/)\. { return 404; }")
    if config.get("root_is_app"):
        names = "|".join(re.escape(n) for n in sorted(APP_FILES))
        server.append(f"location ~ ^/({names})$ {{ return 404; }}")
    server.append("location / { " + " ".join(location) + " }")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers would otherwise drop to nobody
    body = "\n".join("        " + line for line in server)
    return (
        f"daemon off;\n{user}worker_processes 2;\nerror_log stderr;\npid {work / 'nginx.pid'};\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    {mime}\n    default_type application/octet-stream;\n"
        "    charset utf-8;\n"
        "    charset_types text/css text/plain text/xml application/javascript application/json image/svg+xml;\n"
        "    access_log /dev/stdout;\n    sendfile on;\n    server_tokens off;\n    keepalive_timeout 30;\n"
        # The router keeps its connections to an instance open: do not close them every 1,000 requests.
        "    keepalive_requests 1000000;\n"
        f"{temp}\n"
        f"    server {{\n{body}\n    }}\n"
        "}\n"
    )


def serve_with_nginx(nginx: str, config: dict[str, Any], root: str, port: int, auth_file: Path | None) -> None:
    work = Path(os.environ.get("TMPDIR") or "/tmp") / f"staticfile-nginx-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(nginx_config(config, root, port, work, auth_file))
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    argv = [nginx, "-p", str(work), "-c", str(conf)]
    if found and tuple(map(int, found.groups())) >= (1, 19, 5):
        argv += ["-e", "stderr"]  # else nginx first opens its compiled-in log path, which vcap cannot
    print(f"Serving {root} on port {port} with {version.strip() or 'nginx'}", flush=True)
    os.execv(nginx, argv)


def main() -> int:
    here = Path(__file__).resolve().parent
    config: dict[str, Any] = json.loads((here / "config.json").read_text())
    root = os.path.realpath(os.path.join(os.getcwd(), config.get("root") or "."))
    port = int(os.environ.get("PORT") or "8080")
    auth_file = here / "htpasswd" if (here / "htpasswd").is_file() else None
    choice = os.environ.get("STATICFILE_SERVER", "").lower()
    nginx = next((p for p in NGINX_PATHS if os.access(p, os.X_OK)), None)
    if nginx is not None and choice != "python":
        serve_with_nginx(nginx, config, root, port, auth_file)
    if choice == "nginx":
        print("STATICFILE_SERVER=nginx, but nginx is not installed", file=sys.stderr)
        return 1
    serve_with_python(config, root, port, read_htpasswd(auth_file) if auth_file else {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
