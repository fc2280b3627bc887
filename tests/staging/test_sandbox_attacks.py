"""A space developer's buildpack tries what an attacker would; the sandbox lets none of it through.

The buildpack's ``bin/compile`` tries to read the host's secrets (a root-only file in
``/var/lib``, ``/etc/shadow``, Ladle's signing key and database, another space's package blob,
the home of the user running Ladle) and to connect to the host's services (PostgreSQL, Redis,
Ladle's own API on 127.0.0.1, a service on the host's non-loopback address). It prints one
``ATTACK <name> <outcome>`` line per attempt into the staging log, then downloads from the
package index, which staging must still be able to do, and the build stages normally.

The data directory is outside ``/tmp`` (``/var/lib/ladle-test-*``), where a real install keeps it.
"""

from __future__ import annotations

import base64
import http.server
import io
import os
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ladle.blobstore.base import fan_out
from ladle.blobstore.local import LocalBlobstore
from ladle.sandbox.cgroups import CGROUP_V1
from ladle.sandbox.network import host_addresses
from tests.staging.helpers import admin_buildpack, ready_package, stage, wait_for_build
from tests.support.buildpacks import write_buildpack, zip_directory
from tests.support.cf import Api, World, login, unique
from tests.support.server import run_server
from tests.support.services import free_port, port_open

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'
REPO = Path(__file__).resolve().parents[2]


def attack_script(
    reads: Mapping[str, Path | str],
    connects: Mapping[str, tuple[str, int]],
    *,
    download: bool,
    lists: Mapping[str, Path | str] | None = None,
) -> str:
    """bash that reads each file, lists each directory, connects to each address, and reports
    ``ATTACK <name> <outcome>`` ("blocked" unless it got something)."""
    lines = [
        "set +e",
        'report() { echo "ATTACK $1 $2"; }',
        # Anything read is printed, so a leak shows in the log (and fails the test on its content).
        'try_read() { if out=$(head -c 300 "$2" 2>/dev/null) && [ -n "$out" ]; then report "$1" "READ:$out";'
        ' else report "$1" blocked; fi; }',
        'try_list() { if out=$(ls -A "$2" 2>/dev/null) && [ -n "$out" ]; then report "$1" "LISTED:$out";'
        ' else report "$1" blocked; fi; }',
        'try_connect() { if timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then report "$1" connected;'
        ' else report "$1" blocked; fi; }',
        'report whoami "$(id -u):$(id -g)"',
    ]
    lines += [f'try_read {name} "{path}"' for name, path in reads.items()]
    lines += [f'try_list {name} "{path}"' for name, path in (lists or {}).items()]
    lines += [f"try_connect {name} {host} {port}" for name, (host, port) in connects.items()]
    if download:
        lines.append(
            "if curl -fsSI -m 30 https://pypi.org/simple/ >/dev/null 2>&1 || python3 -c "
            "\"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=30)\" 2>/dev/null;"
            " then report pypi downloaded; else report pypi failed; fi"
        )
    lines.append('echo built > "$1/run"')
    return "\n".join(lines) + "\n"


def outcomes(log: str) -> dict[str, str]:
    found = {}
    for line in log.splitlines():
        if "ATTACK " in line:
            name, _, outcome = line.split("ATTACK ", 1)[1].partition(" ")
            found[name] = outcome
    return found


class Listener:
    """A TCP service on every host address (as a service bound to 0.0.0.0 is), counting connections."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("0.0.0.0", 0))  # the point: reachable on the host's own address
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def outside_tmp() -> Iterator[Path]:
    assert os.geteuid() == 0, "the sandbox attack tests run as root (as the suite does)"
    base = Path(f"/var/lib/ladle-test-{uuid.uuid4().hex[:12]}")
    base.mkdir(mode=0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def attacked(outside_tmp: Path) -> Iterator[World]:
    with run_server("sqlite", outside_tmp / "data", "unused") as running:
        yield World(running)


def host_ipv4() -> str:
    return next(str(a) for a in host_addresses() if a.version == 4)


def test_buildpack_reads_and_reaches_nothing_of_the_host_yet_downloads(attacked: World, outside_tmp: Path) -> None:
    world = attacked
    settings = world.server.settings
    root_only = outside_tmp / "root-only"
    root_only.write_text(f"SECRET-root-only-{uuid.uuid4().hex}\n")
    root_only.chmod(0o600)
    # Another space's app, with a secret in its package.
    victim_secret = f"SECRET-victim-{uuid.uuid4().hex}"
    victim_app = world.app(world.space(world.org()))
    victim_package = ready_package(world, victim_app, {"config.txt": victim_secret})
    # Where the local blob store keeps it on the host's disk: the file an attacker would aim at.
    packages = world.server.deps.blobstores.packages
    assert isinstance(packages, LocalBlobstore)
    victim_blob = packages.root / fan_out(victim_package)
    assert victim_blob.exists()
    listener = Listener()
    host_ip = host_ipv4()
    with socket.create_connection((host_ip, listener.port), timeout=5):
        pass  # reachable from the host itself
    reads: dict[str, Path | str] = {
        "root_only": root_only,
        "shadow": "/etc/shadow",
        "signing_key": settings.data_dir / "token-signing-key.pem",
        "database": settings.data_dir / "ladle.db",
        "victim_blob": victim_blob,
        "var_lib": "/var/lib/dpkg/status",
    }
    lists: dict[str, Path | str] = {"data_dir": settings.data_dir, "root_home": "/root", "var_lib_dir": "/var/lib"}
    connects = {
        "postgres": ("127.0.0.1", 5432),
        "redis": ("127.0.0.1", 6379),
        "ladle_api": ("127.0.0.1", settings.port),
        "host_address": (host_ip, listener.port),
        "slirp_gateway": ("10.0.2.2", settings.port),
    }
    try:
        bp = admin_buildpack(
            world,
            outside_tmp / "bps",
            {"compile": attack_script(reads, connects, download=True, lists=lists), "release": RELEASE},
        )
        org = world.org()
        space = world.space(org)
        developer = world.as_role("space_developer", org, space)
        app = world.app(space)
        package = ready_package(world, app, {"index.html": "hi"}, api=developer)
        build = stage(
            world, package, api=developer, lifecycle={"type": "buildpack", "data": {"buildpacks": [bp["name"]]}}
        )
        log = world.admin.get(f"/v3/builds/{build['guid']}/logs").text
    finally:
        listener.close()
    results = outcomes(log)
    assert build["state"] == "STAGED", (build["error"], log)
    assert results.pop("whoami") == "2000:2000"
    assert results.pop("pypi") == "downloaded", log
    assert results == dict.fromkeys([*reads, *lists, *connects], "blocked"), log
    assert listener.accepted == 1  # only the test's own connection
    for secret in (root_only.read_text().strip(), victim_secret, "BEGIN PRIVATE KEY"):
        assert secret not in log


class ZipServer:
    """A buildpack zip served on the host's loopback, counting the requests that reach it."""

    def __init__(self, body: bytes) -> None:
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_buildpack_urls_are_fetched_under_the_same_rules(attacked: World, outside_tmp: Path) -> None:
    # A perfectly good buildpack, but on the server's loopback: the server never fetches a URL
    # itself, and from the sandbox the host's loopback is out of reach.
    world = attacked
    bp = write_buildpack(outside_tmp / "loopback-bp", {"compile": "true\n", "release": RELEASE})
    served = ZipServer(zip_directory(bp))
    org = world.org()
    space = world.space(org)
    developer = world.as_role("space_developer", org, space)
    app = world.app(space)
    package = ready_package(world, app, {"index.html": "hi"}, api=developer)
    try:
        for url, expected in (
            (f"http://127.0.0.1:{served.port}/bp.zip", f"Failed to download buildpack `http://127.0.0.1:{served.port}"),
            (
                f"http://127.0.0.1:{served.port}/bp.git",
                f"Failed to clone git repository at http://127.0.0.1:{served.port}",
            ),
        ):
            lifecycle = {"type": "buildpack", "data": {"buildpacks": [url]}}
            build = stage(world, package, api=developer, lifecycle=lifecycle)
            assert build["state"] == "FAILED"
            assert expected in world.admin.get(f"/v3/builds/{build['guid']}/logs").text
        assert served.hits == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/bp.zip", timeout=5) as answer:
            assert answer.status == 200  # it was there all along
    finally:
        served.close()
    # file:// reads the server's own disk: admins only, refused when the build is created.
    lifecycle = {"type": "buildpack", "data": {"buildpacks": ["file:///etc"]}}
    r = developer.post("/v3/builds", json={"package": {"guid": package}, "lifecycle": lifecycle})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"] == (
        'Buildpack "file:///etc" must be an existing admin buildpack or a valid git URI '
        "(file:// buildpacks are for admins only)"
    )


# --- Ladle run as an ordinary user ---------------------------------------------------------------------------


def _unprivileged_server(base: Path, uid: int, port: int) -> subprocess.Popen[bytes]:
    """``ladle serve`` as ``uid``, with its own home and data directory under ``base``.

    The interpreter and the checkout may sit under directories that user cannot enter (pyenv under
    /root): a private mount namespace shows them under ``base``, then the server drops to ``uid``."""
    for name in ("code", "venv", "python"):
        (base / name).mkdir()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = Path(sysconfig.get_paths()["purelib"]).relative_to(sys.prefix)
    env = {
        "HOME": str(base / "home"),
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "PYTHONPATH": f"{base / 'code' / 'src'}:{base / 'venv' / site}",
        # An interpreter built with a shared libpython finds it through an rpath under the real prefix.
        "LD_LIBRARY_PATH": str(base / "python" / "lib"),
        "LADLE_DATA_DIR": str(base / "data"),
        "LADLE_ADMIN_PASSWORD": "admin-secret",
        "LADLE_LOG_FORMAT": "text",
        "LADLE_JOB_WORKERS": "2",
    }
    script = (
        'mount --bind "$1" "$4/code" && mount --bind "$2" "$4/venv" && mount --bind "$3" "$4/python" && '
        'exec setpriv --reuid="$5" --regid="$5" --clear-groups -- "$4/python/bin/$6" -m ladle serve --port "$7"'
    )
    log = open(base / "server.log", "wb")  # noqa: SIM115 - the server writes it until the test stops it
    arguments = [str(REPO), sys.prefix, sys.base_prefix, str(base), str(uid), version, str(port)]
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *arguments],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _modes(root: Path) -> Iterator[tuple[Path, int]]:
    """Every file and directory under ``root`` (itself included, symlinks left out) with its mode,
    skipping what is removed while the walk runs."""
    # Each directory is reported by its own step (os.walk passes over one that vanished, and does
    # not enter symlinked ones); files by their directory's.
    for directory, _subdirectories, files in os.walk(root):
        for path in [Path(directory), *(Path(directory) / name for name in files)]:
            try:
                status = path.lstat()
            except FileNotFoundError:
                continue
            if not stat.S_ISLNK(status.st_mode):
                yield path, status.st_mode


def _upload_buildpack(api: Api, name: str, scripts: dict[str, str]) -> None:
    bp = api.post("/v3/buildpacks", json={"name": name}).json()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for script, body in scripts.items():
            info = zipfile.ZipInfo(f"bin/{script}")
            info.external_attr = 0o100755 << 16
            zf.writestr(info, "#!/bin/bash\n" + body)
    r = api.post(f"/v3/buildpacks/{bp['guid']}/upload", files={"bits": (f"{name}.zip", archive.getvalue())})
    assert r.status_code == 202, r.text
    assert api.wait_for_job(r.headers["location"])["state"] == "COMPLETE"


def _package(api: Api, app_guid: str) -> str:
    package = api.post("/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app_guid}}}})
    guid = str(package.json()["guid"])
    bits = io.BytesIO()
    with zipfile.ZipFile(bits, "w") as zf:
        zf.writestr("index.html", "hi")
    r = api.post(f"/v3/packages/{guid}/upload", files={"bits": ("app.zip", bits.getvalue())})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while api.get(f"/v3/packages/{guid}").json()["state"] != "READY":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return guid


def _create(api: Api, path: str, body: dict[str, Any]) -> str:
    r = api.post(path, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["guid"])


def test_ladle_as_an_ordinary_user_keeps_its_home_and_data_away_from_user_code(outside_tmp: Path) -> None:
    base = outside_tmp / f"user-{uuid.uuid4().hex[:8]}"
    base.mkdir(mode=0o755)
    uid = 2_100_000_000 + int.from_bytes(os.urandom(3), "big")
    home = base / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    secret = home / ".ssh" / "id_ed25519"
    secret.write_text(f"SECRET-home-{uuid.uuid4().hex}\n")
    secret.chmod(0o600)
    (base / "data").mkdir(mode=0o700)
    for path in (home, home / ".ssh", secret, base / "data"):
        os.chown(path, uid, uid)
    # A root `ladle serve` on this machine leaves its cgroups' parent 0700 (its private umask):
    # the user's server has to start beside it.
    for controller in ("memory", "pids"):
        if (CGROUP_V1 / controller / "cgroup.procs").exists():
            (CGROUP_V1 / controller / "ladle").mkdir(mode=0o700, exist_ok=True)
            (CGROUP_V1 / controller / "ladle").chmod(0o700)
    port = free_port()
    server = _unprivileged_server(base, uid, port)
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert server.poll() is None and time.monotonic() < deadline, (base / "server.log").read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        api = Api(url, login(url, "admin", "admin-secret")["access_token"])
        data = base / "data"
        reads: dict[str, Path | str] = {
            "home_secret": secret,
            "signing_key": data / "token-signing-key.pem",
            "database": data / "ladle.db",
        }
        lists: dict[str, Path | str] = {"home": home, "data": data}
        name = unique("attack").replace("-", "_")
        _upload_buildpack(
            api, name, {"compile": attack_script(reads, {}, download=False, lists=lists), "release": RELEASE}
        )
        org = _create(api, "/v3/organizations", {"name": unique("org")})
        space = _create(
            api, "/v3/spaces", {"name": unique("space"), "relationships": {"organization": {"data": {"guid": org}}}}
        )
        app = _create(api, "/v3/apps", {"name": unique("app"), "relationships": {"space": {"data": {"guid": space}}}})
        package = _package(api, app)
        created = api.post(
            "/v3/builds",
            json={"package": {"guid": package}, "lifecycle": {"type": "buildpack", "data": {"buildpacks": [name]}}},
        )
        assert created.status_code == 201, created.text
        build = wait_for_build(api, created.json()["guid"])
        log = api.get(f"/v3/builds/{build['guid']}/logs").text
        assert build["state"] == "STAGED", (build["error"], log, (base / "server.log").read_text())
        results = outcomes(log)
        assert results.pop("whoami") == "2000:2000"
        assert results == dict.fromkeys([*reads, *lists], "blocked"), log
        assert secret.read_text().strip() not in log
        # A fresh data directory, after a staging, holds nothing another local user could read.
        # (The build reads STAGED a moment before its scratch directory is removed: what goes
        # meanwhile is skipped, not an error.)
        loose = [
            f"{path} {oct(mode)}"
            for path, mode in _modes(data)
            if mode & 0o077 and not path.relative_to(data).as_posix().startswith("cache/buildpacks/")
        ]
        assert loose == []
        assert {(data / n).stat().st_mode & 0o777 for n in ("ladle.db", "token-signing-key.pem", "blobs")} == {
            0o600,
            0o700,
        }
    finally:
        os.killpg(server.pid, 9)
        server.wait(timeout=10)


def test_links_left_by_a_buildpack_do_not_lead_the_server_astray(attacked: World, outside_tmp: Path) -> None:
    # Ladle reads the Procfile and writes staging_info.yml after the scripts ran: as root, a link
    # there would read a secret into the droplet's process types or write wherever it points.
    world = attacked
    secret = outside_tmp / "root-only-procfile"
    secret.write_text(f"web: SECRET-{uuid.uuid4().hex}\n")
    secret.chmod(0o600)
    written = outside_tmp / f"written-{uuid.uuid4().hex}"
    compile_script = (
        f'ln -s "{secret}" "$1/Procfile"\nln -s "{written}" /tmp/contents/staging_info.yml\necho built > "$1/run"\n'
    )
    bp = admin_buildpack(world, outside_tmp / "link-bps", {"compile": compile_script, "release": RELEASE})
    app = world.app()
    package = ready_package(world, app, {"index.html": "hi"})
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": [bp["name"]]}})
    assert build["state"] == "STAGED", build["error"]
    droplet = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["process_types"] == {"web": "./run"}
    assert not written.exists()


@pytest.fixture(scope="module")
def attacked_running(outside_tmp: Path) -> Iterator[World]:
    """A server that runs apps (the same sandbox, all day), its data directory outside ``/tmp``."""
    with run_server("sqlite", outside_tmp / "data-running", "unused", runner="local") as running:
        yield World(running)


def _app_log(world: World, app_guid: str, source_type: str) -> str:
    body = world.admin.get(
        f"/api/v1/read/{app_guid}", params={"envelope_types": "LOG", "limit": 1000, "start_time": 0}
    ).json()
    return "\n".join(
        base64.b64decode(e["log"]["payload"]).decode()
        for e in body["envelopes"]["batch"]
        if e["tags"]["source_type"] == source_type
    )


def test_app_instances_and_tasks_read_and_reach_nothing_of_the_host(attacked_running: World, outside_tmp: Path) -> None:
    """The same attacks as the staging buildpack's, from a running app instance and from a task."""
    world = attacked_running
    settings = world.server.settings
    root_only = outside_tmp / "root-only-running"
    root_only.write_text(f"SECRET-root-only-{uuid.uuid4().hex}\n")
    root_only.chmod(0o600)
    reads: dict[str, Path | str] = {
        "root_only": root_only,
        "shadow": "/etc/shadow",
        "signing_key": settings.data_dir / "token-signing-key.pem",
        "database": settings.data_dir / "ladle.db",
        "var_lib": "/var/lib/dpkg/status",
    }
    lists: dict[str, Path | str] = {"data_dir": settings.data_dir, "root_home": "/root", "var_lib_dir": "/var/lib"}
    connects = {
        "postgres": ("127.0.0.1", 5432),
        "redis": ("127.0.0.1", 6379),
        "ladle_api": ("127.0.0.1", settings.port),
        "slirp_gateway": ("10.0.2.2", settings.port),
    }
    script = attack_script(reads, connects, download=True, lists=lists)
    bp = admin_buildpack(
        world,
        outside_tmp / "bps-running",
        {"compile": "true", "release": 'printf "default_process_types:\\n  web: bash attack.sh; sleep 600\\n"\n'},
    )
    org = world.org()
    space = world.space(org)
    developer = world.as_role("space_developer", org, space)
    app = world.app(space, lifecycle={"type": "buildpack", "data": {"buildpacks": [bp["name"]]}})
    package = ready_package(world, app, {"attack.sh": script}, api=developer)
    build = stage(world, package, api=developer)
    assert build["state"] == "STAGED", build
    droplet = {"data": {"guid": build["droplet"]["guid"]}}
    assert developer.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json=droplet).status_code == 200
    developer.patch(f"/v3/apps/{app['guid']}/processes/web", json={"health_check": {"type": "process"}})
    assert developer.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    expected = set([*reads, *lists, *connects, "whoami", "pypi"])

    def reported(source: str) -> dict[str, str] | None:
        found = outcomes(_app_log(world, app["guid"], source))
        return found if expected <= set(found) else None

    deadline = time.monotonic() + 120
    while (instance := reported("APP/PROC/WEB")) is None:
        assert time.monotonic() < deadline, _app_log(world, app["guid"], "APP/PROC/WEB")
        time.sleep(0.2)
    r = developer.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "bash attack.sh", "name": "attack"})
    assert r.status_code == 202, r.text
    while (task := reported("APP/TASK/attack")) is None:
        assert time.monotonic() < deadline, _app_log(world, app["guid"], "APP/TASK/attack")
        time.sleep(0.2)
    developer.post(f"/v3/apps/{app['guid']}/actions/stop")
    for results in (instance, task):
        assert results.pop("whoami") == "2000:2000"
        assert results.pop("pypi") == "downloaded", results
        assert results == dict.fromkeys([*reads, *lists, *connects], "blocked")
    full_log = _app_log(world, app["guid"], "APP/PROC/WEB") + _app_log(world, app["guid"], "APP/TASK/attack")
    for secret in (root_only.read_text().strip(), "BEGIN PRIVATE KEY"):
        assert secret not in full_log
