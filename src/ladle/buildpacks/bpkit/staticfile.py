"""staticfile_buildpack: a site of static files, detected by a ``Staticfile`` (empty or not).

Options read from the Staticfile, with Cloud Foundry's meaning: ``root`` (the directory to
serve), ``pushstate: enabled`` (paths that are no file get ``index.html``), ``directory:
visible`` (listings of directories without an index), ``host_dot_files: true``,
``force_https: true``, ``http_strict_transport_security: true``, and a ``Staticfile.auth``
(htpasswd lines) for basic auth. The site is served by nginx when the host has it, else by
Python's ``http.server`` (see ``static_server.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .common import Buildpack, BuildpackError, Dirs, header, parse_simple_yaml, say, warn
from .static_server import NGINX_PATHS, read_htpasswd

SUPPORTED = {"root", "pushstate", "directory", "host_dot_files", "force_https", "http_strict_transport_security"}
TRUE = {"true", "enabled", "yes", "on", "1"}


def _enabled(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in TRUE


def read_settings(build: Path) -> dict[str, Any]:
    """The server's ``config.json`` from the app's Staticfile (checked here, so a bad root fails
    the staging rather than the start)."""
    path = build / "Staticfile"
    options = parse_simple_yaml(path.read_text(errors="replace")) if path.is_file() else {}
    for key in sorted(set(options) - SUPPORTED):
        warn(f"Staticfile option '{key}' is not supported by Ladle's staticfile buildpack; it is ignored")
    root = options.get("root")
    root = root.strip().strip("/") if isinstance(root, str) else ""
    if root:
        resolved = (build / root).resolve()
        if not resolved.is_relative_to(build.resolve()) or not resolved.is_dir():
            raise BuildpackError(f"The Staticfile's root '{root}' is not a directory of the app")
    directory = options.get("directory")
    return {
        "root": root or ".",
        "root_is_app": not root,
        "pushstate": _enabled(options.get("pushstate")),
        "directory_listing": isinstance(directory, str) and directory.strip().lower() == "visible",
        "host_dot_files": _enabled(options.get("host_dot_files")),
        "force_https": _enabled(options.get("force_https")),
        "hsts": _enabled(options.get("http_strict_transport_security")),
    }


class Staticfile(Buildpack):
    name = "staticfile"
    title = "Staticfile"

    def detect(self, build: Path) -> str | None:
        return "Staticfile found" if (build / "Staticfile").is_file() else None

    def finalize(self, dirs: Dirs) -> None:
        settings = read_settings(dirs.build)
        target = dirs.dep / "staticfile"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(__file__).with_name("static_server.py"), target / "serve.py")
        auth = dirs.build / "Staticfile.auth"
        if auth.is_file():
            users = read_htpasswd(auth)
            if not users:
                raise BuildpackError("Staticfile.auth has no 'user:hash' lines")
            shutil.copyfile(auth, target / "htpasswd")
            say(f"Basic authentication for {len(users)} user(s) from Staticfile.auth")
        (target / "config.json").write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        header("Configuring the static file server")
        say(f"Serving the app's {'root directory' if settings['root_is_app'] else settings['root'] + '/'}")
        for flag, text in (
            ("pushstate", "pushstate: paths that are not files get index.html"),
            ("directory_listing", "directory: visible (directories without an index are listed)"),
            ("host_dot_files", "host_dot_files: dot files are served"),
            ("force_https", "force_https: plain HTTP requests are redirected"),
            ("hsts", "http_strict_transport_security: responses carry the HSTS header"),
        ):
            if settings[flag]:
                say(text)
        nginx = next((p for p in NGINX_PATHS if Path(p).is_file()), None)
        if nginx:
            say(f"nginx is installed ({nginx}): it will serve the app")
        else:
            say("nginx is not installed on this host: Python's http.server will serve the app")

    def web_command(self, build: Path, index: str) -> str | None:
        return f'python3 "$DEPS_DIR/{index}/staticfile/serve.py"'


BUILDPACK = Staticfile()
