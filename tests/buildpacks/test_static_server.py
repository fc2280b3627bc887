"""The staticfile buildpack's server, with nginx and with Python's http.server alike.

The buildpack's real ``bin/finalize`` turns an app with a Staticfile into a droplet layout, and
its start command runs as the launcher would. Both servers must answer the same way: content
types, index files, 404s, redirects, and the Staticfile options.
"""

from __future__ import annotations

import base64
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ladle.buildpacks import HERE
from ladle.buildpacks.bpkit.static_server import md5_crypt
from tests.buildpacks.prerunner import Started, launch

SITE: dict[str, str | bytes] = {
    "index.html": "<h1>home</h1>",
    "style.css": "h1 {}",
    "data.json": '{"a": 1}',
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(32),
    "notes.unknownext": "?",
    "file with space.txt": "spaced",
    ".secret": "dot file",
    "docs/a.txt": "a",
    "docs/.hidden": "hidden",
    "blog/index.html": "<h1>blog</h1>",
}


@pytest.fixture(params=["python", "nginx"])
def server_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "nginx":
        assert any(Path(p).is_file() for p in ("/usr/sbin/nginx", "/usr/bin/nginx")), (
            "the tests need nginx (Debian: nginx)"
        )
    return str(request.param)


@contextmanager
def site(root: Path, kind: str, files: Mapping[str, str | bytes], staticfile: str) -> Iterator[Started]:
    """Stage ``files`` with the buildpack's finalize step and start the site."""
    app = root / "app"
    for name, content in {**files, "Staticfile": staticfile}.items():
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for directory in ("cache", "deps/0", "profile.d"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    script = HERE / "staticfile" / "bin" / "finalize"
    args = [str(root / d) for d in ("app", "cache", "deps")] + ["0", str(root / "profile.d")]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(root)}
    result = subprocess.run([script, *args], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    command = 'python3 "$DEPS_DIR/0/staticfile/serve.py"'
    with launch(root, command, {"STATICFILE_SERVER": kind}) as started:
        yield started


def raw_get(started: Started, target: str) -> tuple[int, bytes]:
    """A request line sent as is (HTTP clients would normalise ``..`` away)."""
    host, port = started.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_defaults(tmp_path: Path, server_kind: str) -> None:
    with site(tmp_path, server_kind, SITE, "") as s:
        home = s.get("/")
        assert (home.status_code, home.text) == (200, "<h1>home</h1>")
        assert home.headers["content-type"] == "text/html; charset=utf-8"
        types = {path: s.get(path).headers["content-type"] for path in ("/style.css", "/logo.png", "/notes.unknownext")}
        assert types == {
            "/style.css": "text/css; charset=utf-8",
            "/logo.png": "image/png",
            "/notes.unknownext": "application/octet-stream",
        }
        assert s.get("/data.json").headers["content-type"].startswith("application/json")
        assert s.get("/logo.png").content == SITE["logo.png"]
        assert s.get("/file%20with%20space.txt").text == "spaced"
        assert s.get("/blog/").text == "<h1>blog</h1>"
        head = httpx.head(s.url + "/", timeout=10)
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "13")
        for missing in ("/missing.html", "/.secret", "/docs/.hidden", "/Staticfile", "/deep/missing/path"):
            assert s.get(missing).status_code == 404, missing
        redirect = s.get("/blog", follow_redirects=False)
        assert (redirect.status_code, redirect.headers["location"]) == (301, "/blog/")
        assert s.get("/docs/").status_code == 403  # a directory without an index is not listed
        status, body = raw_get(s, "/%2e%2e/%2e%2e/%2e%2e/etc/passwd")
        assert status in (400, 404) and b"root:" not in body


def test_root_pushstate_and_directory_listing(tmp_path: Path, server_kind: str) -> None:
    files = {f"public/{name}": content for name, content in SITE.items()} | {"server-only.txt": "private"}
    staticfile = "root: public\npushstate: enabled\ndirectory: visible  # list directories\n"
    with site(tmp_path, server_kind, files, staticfile) as s:
        assert s.get("/").text == "<h1>home</h1>"
        assert s.get("/style.css").headers["content-type"] == "text/css; charset=utf-8"
        # pushstate: a path that is no file is the app's index.html (client-side routes).
        route = s.get("/users/42/profile")
        assert (route.status_code, route.text) == (200, "<h1>home</h1>")
        # Files outside the root are not part of the site.
        assert s.get("/server-only.txt").text == "<h1>home</h1>"
        listing = s.get("/docs/")
        assert listing.status_code == 200 and "a.txt" in listing.text and ".hidden" not in listing.text


def test_basic_auth_https_and_hsts(tmp_path: Path, server_kind: str) -> None:
    hashed = md5_crypt(b"s3cret", b"Ab12Cd34", b"$apr1$")
    files = {**SITE, "Staticfile.auth": f"bob:{hashed}\n"}
    staticfile = "force_https: true\nhttp_strict_transport_security: true\n"
    with site(tmp_path, server_kind, files, staticfile) as s:
        anonymous = s.get("/")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")

        def auth(password: str) -> dict[str, str]:
            return {"Authorization": "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()}

        assert s.get("/", headers=auth("wrong")).status_code == 401
        ok = s.get("/", headers={**auth("s3cret"), "X-Forwarded-Proto": "https"})
        assert (ok.status_code, ok.text) == (200, "<h1>home</h1>")
        assert ok.headers["strict-transport-security"].startswith("max-age=")
        forwarded = {"Host": "app.example.com", "X-Forwarded-Proto": "http"}
        plain = s.get("/a?b=1", headers=forwarded, follow_redirects=False)
        assert (plain.status_code, plain.headers["location"]) == (301, "https://app.example.com/a?b=1")
        # The password file itself is never served, whoever asks.
        assert s.get("/Staticfile.auth", headers=auth("s3cret")).status_code == 404


def test_bad_root_fails_the_staging(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Staticfile").write_text("root: dist\n")
    for directory in ("cache", "deps/0", "profile.d"):
        (tmp_path / directory).mkdir(parents=True)
    args = [str(tmp_path / d) for d in ("app", "cache", "deps")] + ["0", str(tmp_path / "profile.d")]
    result = subprocess.run(
        [HERE / "staticfile" / "bin" / "finalize", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "**ERROR** The Staticfile's root 'dist' is not a directory of the app" in result.stdout
