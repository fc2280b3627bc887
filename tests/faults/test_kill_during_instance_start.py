"""SIGKILL ``ladle serve`` while an app instance is starting (runner local); start it again: the
killed run's processes and cgroups are gone, and the instance starts afresh."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ladle.db.models import Instance
from tests.cli.test_crash_recovery import Server, make_package
from tests.faults.invariants import CGROUPS_AVAILABLE, assert_settled, cgroups_of, wait_settled
from tests.runner.test_local_runner import _processes_of
from tests.support.waiting import wait_until

# Slow to become healthy: the kill lands while the instance is STARTING.
START = b"#!/bin/sh\nsleep 2\nexec python3 -m http.server $PORT\n"


def _droplet() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("./app/server.sh")
        info.size, info.mode = len(START), 0o755
        tar.addfile(info, io.BytesIO(START))
    return out.getvalue()


def _instances(url: str, app_guid: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            rows = s.scalars(select(Instance).where(Instance.app_guid == app_guid))
            return [(row.guid, row.state) for row in rows]
    finally:
        engine.dispose()


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def test_kill_during_instance_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'ladle.db'}"
    server = Server(data_dir, url, runner="local", router_enabled="false")
    try:
        app_guid, _package = make_package(server)
        body = {"relationships": {"app": {"data": {"guid": app_guid}}}, "process_types": {"web": "./server.sh"}}
        droplet = _ok(server.call("POST", "/v3/droplets", json=body), 201)
        r = server.call("POST", f"/v3/droplets/{droplet['guid']}/upload", files={"bits": ("d.tgz", _droplet())})
        assert r.status_code == 202, r.text
        server.api.wait_for(f"/v3/droplets/{droplet['guid']}", lambda d: d["state"] == "STAGED")
        current = {"data": {"guid": droplet["guid"]}}
        _ok(server.call("PATCH", f"/v3/apps/{app_guid}/relationships/current_droplet", json=current))
        _ok(server.call("POST", f"/v3/apps/{app_guid}/actions/start"))
        starting = wait_until(
            lambda: [g for g, state in _instances(url, app_guid) if state == "STARTING" and _processes_of([g])],
            timeout=60,
            message="an instance with its processes up, still STARTING",
        )
        groups = cgroups_of(data_dir, "n")
        assert groups or not CGROUPS_AVAILABLE, "the instance's jail should have cgroups here"
    finally:
        server.kill()
    # bubblewrap's parent-death signal takes the instance's processes down with the server.
    wait_until(lambda: not _processes_of(starting), timeout=15, message="the killed run's instance processes")

    restarted = Server(data_dir, url, runner="local", router_enabled="false")
    try:
        # The killed run's cgroups (empty now) went at start-up.
        assert not any(group.exists() for group in groups)
        again = wait_until(
            lambda: [g for g, state in _instances(url, app_guid) if state == "RUNNING" and g not in starting],
            timeout=60,
            message="a new instance running",
        )
        assert _processes_of(again) and not _processes_of(starting)
        wait_settled(url)
        assert_settled(data_dir, url)
    finally:
        restarted.stop()
