"""System buildpacks are registered once; after that they are the admin's, and
``ladle buildpacks install-defaults`` restores them. Real ``ladle`` processes, restarted on the
same data dir and database, as an operator runs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cf import Api, login
from tests.support.server import DATABASES, drop_database, fresh_database_url
from tests.support.services import free_port

LADLE = str(Path(sys.executable).parent / "ladle")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    name = f"ladle_test_sysbp_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = fresh_database_url(request.param, name, tmp_path)
    yield url
    drop_database(request.param, name)


def ladle_env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
    env.update(LADLE_ADMIN_PASSWORD="pw", LADLE_DATABASE_URL=database, LADLE_LOG_FORMAT="text")
    return env


@contextmanager
def serving(data_dir: Path, database: str, *, jail: Sequence[str] = ()) -> Iterator[tuple[Api, Path]]:
    """``ladle serve`` (optionally under ``jail``, a command prefix) until the block ends."""
    port = free_port()
    log = data_dir.parent / f"server-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*jail, LADLE, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=ladle_env(database),
            stdout=out,
            stderr=subprocess.STDOUT,
            # A group of its own: under a jail command the server is bwrap's child, and a signal to
            # bwrap alone would leave it running.
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        yield Api(url, login(url, "admin", "pw")["access_token"]), log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        # bwrap may end before the server it started: wait until the whole group is gone.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.killpg(process.pid, signal.SIGKILL)


def buildpacks(api: Api) -> list[tuple[str, int, bool]]:
    listed: list[dict[str, Any]] = api.get("/v3/buildpacks", params={"per_page": 100}).json()["resources"]
    return [(b["name"], b["position"], b["enabled"]) for b in listed]


def guid_of(api: Api, name: str) -> str:
    return str(api.get("/v3/buildpacks", params={"names": name}).json()["resources"][0]["guid"])


def stored_buildpack_blobs(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs" / "buildpacks"
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


def test_restarts_keep_what_the_admin_did_and_install_defaults_restores(tmp_path: Path, database: str) -> None:
    data = tmp_path / "data"
    with serving(data, database) as (api, _):
        assert buildpacks(api) == [
            ("staticfile_buildpack", 1, True),
            ("ruby_buildpack", 2, True),
            ("nodejs_buildpack", 3, True),
            ("go_buildpack", 4, True),
            ("python_buildpack", 5, True),
            ("binary_buildpack", 6, True),
        ]
        r = api.delete(f"/v3/buildpacks/{guid_of(api, 'go_buildpack')}")
        assert api.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
        assert api.patch(f"/v3/buildpacks/{guid_of(api, 'ruby_buildpack')}", json={"enabled": False}).is_success
        assert api.patch(f"/v3/buildpacks/{guid_of(api, 'python_buildpack')}", json={"position": 1}).is_success
        r = api.delete(f"/v3/buildpacks/{guid_of(api, 'binary_buildpack')}")
        assert api.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
        # An admin's own buildpack under one of the names: Ladle never touches it.
        assert api.post("/v3/buildpacks", json={"name": "binary_buildpack", "position": 2}).status_code == 201
    after_admin = [
        ("python_buildpack", 1, True),
        ("binary_buildpack", 2, True),
        ("staticfile_buildpack", 3, True),
        ("ruby_buildpack", 4, False),
        ("nodejs_buildpack", 5, True),
    ]

    with serving(data, database) as (api, _):
        assert buildpacks(api) == after_admin  # nothing came back, nothing moved or was enabled

    restore = subprocess.run(
        [LADLE, "buildpacks", "install-defaults", "--data-dir", str(data)],
        env=ladle_env(database),
        capture_output=True,
        text=True,
        check=False,
    )
    assert restore.returncode == 0, restore.stderr
    lines = {line.split()[0]: line for line in restore.stdout.splitlines()}
    assert lines["go_buildpack"].split()[1:] == ["restored", "position", "6", "enabled"]
    assert lines["ruby_buildpack"].split()[1:] == ["unchanged", "position", "4", "enabled"]
    assert "skipped" in lines["binary_buildpack"] and "already exists" in lines["binary_buildpack"]

    with serving(data, database) as (api, _):
        assert buildpacks(api) == [
            ("python_buildpack", 1, True),
            ("binary_buildpack", 2, True),
            ("staticfile_buildpack", 3, True),
            ("ruby_buildpack", 4, True),
            ("nodejs_buildpack", 5, True),
            ("go_buildpack", 6, True),
        ]
        mine = api.get("/v3/buildpacks", params={"names": "binary_buildpack"}).json()["resources"][0]
        assert mine["state"] == "AWAITING_UPLOAD"  # still the admin's, without bits
    # One zip for each of Ladle's buildpacks; the deleted ones' zips went with them.
    assert len(stored_buildpack_blobs(data)) == 5


def test_a_runtime_the_host_lacks_disables_its_buildpack(tmp_path: Path) -> None:
    node = shutil.which("node", path=SYSTEM_PATH)
    assert node is not None, "the tests need Node.js (Debian: nodejs npm)"
    # The same host with node hidden: the server starts in a mount namespace where it is empty.
    jail = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", "/dev/null", os.path.realpath(node), "--"]
    data = tmp_path / "data"
    database = fresh_database_url("sqlite", "unused", data)
    data.mkdir(parents=True, exist_ok=True)
    with serving(data, database, jail=jail) as (api, log):
        assert ("nodejs_buildpack", 3, False) in buildpacks(api)
        assert ("python_buildpack", 5, True) in buildpacks(api)
        text = log.read_text()
        assert f"system buildpack nodejs_buildpack is disabled: node is not installed in {SYSTEM_PATH}" in text
        assert "(Debian package nodejs)" in text
        # An admin disables another one meanwhile.
        assert api.patch(f"/v3/buildpacks/{guid_of(api, 'python_buildpack')}", json={"enabled": False}).is_success

    # node is back: Ladle enables the buildpack it had disabled, not the one the admin disabled.
    with serving(data, database) as (api, _):
        assert ("nodejs_buildpack", 3, True) in buildpacks(api)
        assert ("python_buildpack", 5, False) in buildpacks(api)
