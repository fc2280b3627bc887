"""SIGKILL in the middle of an upload: after a restart nothing claims to be READY and nothing leaks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.invariants import CGROUPS_AVAILABLE, cgroups_of
from tests.staging.helpers import marker_processes, wait_until_gone, wait_until_running
from tests.support.archives import make_zip
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import Api, login
from tests.support.server import DATABASES, drop_database, fresh_database_url
from tests.support.services import free_port, wait_until_serving
from tests.support.waiting import wait_until

LADLE = str(Path(sys.executable).parent / "ladle")
BOUNDARY = "ladle-crash-test-boundary"


class Server:
    def __init__(self, data_dir: Path, database_url: str, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
        env.update(LADLE_ADMIN_PASSWORD="pw", LADLE_DATABASE_URL=database_url, LADLE_LOG_LEVEL="warning")
        # Each server's router on a port of its own: tests run side by side.
        env["LADLE_ROUTER_PORT"] = str(free_port())
        env.update({f"LADLE_{name.upper()}": value for name, value in settings.items()})
        self.log = data_dir.parent / f"server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [LADLE, "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            # Generous: a start migrates a fresh database, and these tests run beside others.
            wait_until_serving(f"{self.url}/", self.proc, timeout=60, log=lambda: self.log.read_text()[-3000:])
        except BaseException:
            self.kill()  # a server that never answered must not outlive the test
            raise
        token = login(self.url, "admin", "pw")["access_token"]
        self.headers = {"Authorization": "bearer " + token}
        self.api = Api(self.url, token)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    name = f"ladle_test_crash_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = fresh_database_url(request.param, name, tmp_path)
    yield url
    drop_database(request.param, name)


def make_package(server: Server) -> tuple[str, str]:
    """A new app with a package awaiting upload: (app guid, package guid)."""
    org = server.call("POST", "/v3/organizations", json={"name": "crash"}).json()
    space = server.call(
        "POST", "/v3/spaces", json={"name": "s", "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
    ).json()
    app = server.call(
        "POST", "/v3/apps", json={"name": "a", "relationships": {"space": {"data": {"guid": space["guid"]}}}}
    ).json()
    package = server.call(
        "POST", "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    return str(app["guid"]), str(package["guid"])


def multipart_head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="bits"; filename="package.zip"\r\n'
        f"Content-Type: application/zip\r\n\r\n"
    ).encode()


def stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs" / "packages").rglob("*") if p.is_file()]


def scratch_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "tmp").rglob("*") if p.is_file()]


def test_kill_during_upload_body(tmp_path: Path, database: str) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, database)
    _app, guid = make_package(server)
    payload = make_zip({"big.bin": os.urandom(8 * 1024 * 1024)})
    head = multipart_head()
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield head
        yield payload[: len(payload) // 2]
        release.wait(30)  # the rest never comes: the server dies first
        yield payload[len(payload) // 2 :]

    def send() -> None:
        with contextlib.suppress(httpx.TransportError):
            httpx.post(
                f"{server.url}/v3/packages/{guid}/upload",
                content=body(),
                headers={**server.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                timeout=30,
            )

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    wait_until(
        lambda: [p for p in scratch_files(data_dir) if p.stat().st_size > 1024 * 1024],
        timeout=20,
        interval=0.02,
        message="the server never started writing the upload",
    )
    server.kill()
    release.set()
    assert scratch_files(data_dir), "a partial upload should be on disk at the moment of the kill"

    restarted = Server(data_dir, database)
    try:
        package = restarted.call("GET", f"/v3/packages/{guid}").json()
        assert package["state"] == "AWAITING_UPLOAD"
        assert package["data"]["checksum"]["value"] is None
        assert scratch_files(data_dir) == []
        assert stored_files(data_dir) == []
        # The package still takes an upload after the crash.
        r = restarted.call("POST", f"/v3/packages/{guid}/upload", files={"bits": ("p.zip", payload)})
        assert r.status_code == 200
    finally:
        restarted.stop()


def test_kill_after_upload_accepted(tmp_path: Path, database: str) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, database)
    _app, guid = make_package(server)
    payload = make_zip({f"f{i}.bin": os.urandom(16 * 1024 * 1024) for i in range(12)})
    r = server.call("POST", f"/v3/packages/{guid}/upload", files={"bits": ("p.zip", payload)})
    assert r.status_code == 200 and r.json()["state"] == "PROCESSING_UPLOAD"
    server.kill()

    restarted = Server(data_dir, database)
    try:
        package = restarted.api.wait_for(f"/v3/packages/{guid}", lambda p: p["state"] != "PROCESSING_UPLOAD")
        blobs = stored_files(data_dir)
        assert scratch_files(data_dir) == []
        if package["state"] == "READY":  # the job finished before the kill, or had not begun and resumed
            assert len(blobs) == 1
        else:
            assert package["state"] == "FAILED"
            assert package["data"]["error"] == (
                "The job was abandoned: the worker running it stopped before it finished."
            )
            assert blobs == []
    finally:
        restarted.stop()


def test_kill_during_staging(tmp_path: Path, database: str) -> None:
    data_dir = tmp_path / "data"
    timing = {"staging_timeout": "3", "staging_timeout_grace": "1"}
    server = Server(data_dir, database, **timing)
    _app, package = make_package(server)
    r = server.call("POST", f"/v3/packages/{package}/upload", files={"bits": ("p.zip", make_zip({"run": "x"}))})
    assert r.status_code == 200
    server.api.wait_for(f"/v3/packages/{package}", lambda p: p["state"] == "READY")
    marker = f"ladle-crash-{uuid.uuid4().hex}"
    buildpack = git_repository(
        write_buildpack(tmp_path / "bp", {"compile": f'bash -c "exec -a {marker} sleep 300" &\nsleep 300\n'})
    )
    r = server.call(
        "POST",
        "/v3/builds",
        json={"package": {"guid": package}, "lifecycle": {"type": "buildpack", "data": {"buildpacks": [buildpack]}}},
    )
    assert r.status_code == 201, r.text
    build = r.json()["guid"]
    wait_until_running(marker)
    staging_cgroups = cgroups_of(data_dir, "s")
    assert staging_cgroups or not CGROUPS_AVAILABLE, "the staging's jail should have cgroups here"
    server.kill()
    # The sandbox dies with the server that started it.
    wait_until_gone(marker)
    assert list((data_dir / "tmp" / "staging").iterdir()), "the staging's scratch should be left by the kill"
    # Recovery fails a build not updated for longer than the staging timeout plus its grace (whole
    # seconds, strictly longer): wait until this one is, by its own timestamp.
    updated = datetime.strptime(r.json()["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    overdue = updated + timedelta(seconds=int(timing["staging_timeout"]) + int(timing["staging_timeout_grace"]) + 1)
    wait_until(lambda: datetime.now(UTC) >= overdue, timeout=15, message="the build never became overdue")

    restarted = Server(data_dir, database, **timing)
    try:
        # Recovery fails the overdue build before its job can stage it again.
        body = restarted.call("GET", f"/v3/builds/{build}").json()
        assert (body["state"], body["error"]) == ("FAILED", "StagingTimeExpired - Staging time expired: staging failed")
        droplets = restarted.call("GET", f"/v3/packages/{package}/droplets").json()["resources"]
        assert [(d["state"], d["error"]) for d in droplets] == [("FAILED", body["error"])]
        assert not (data_dir / "tmp" / "staging").exists() or not list((data_dir / "tmp" / "staging").iterdir())
        assert not marker_processes(marker)
        # The killed staging's cgroups (emptied by the kill) were removed at start-up.
        assert not any(group.exists() for group in staging_cgroups)
        # The app stages again as if nothing had happened.
        release = 'printf "default_process_types:\\n  web: ./run\\n"\n'
        quick = write_buildpack(tmp_path / "quick", {"compile": "true\n", "release": release})
        lifecycle = {"type": "buildpack", "data": {"buildpacks": [git_repository(quick)]}}
        r = restarted.call("POST", "/v3/builds", json={"package": {"guid": package}, "lifecycle": lifecycle})
        assert r.status_code == 201, r.text
        again = restarted.api.wait_for(f"/v3/builds/{r.json()['guid']}", lambda b: b["state"] != "STAGING")
        assert again["state"] == "STAGED", again["error"]
    finally:
        restarted.stop()
