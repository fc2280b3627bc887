"""``ladle serve`` killed or stopped while apps run: nothing of theirs outlives the server, and a
restarted server brings the desired instances back."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ladle.db.models import Instance
from tests.cli.test_crash_recovery import Server
from tests.runner.test_local_runner import BUILDPACK, SERVER, _processes_of, wait_until
from tests.support.archives import make_zip
from tests.support.buildpacks import write_buildpack, zip_directory

YAML = {"Content-Type": "application/x-yaml"}


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _push(server: Server, tmp: Path) -> str:
    """Push a two-instance app through the API as ``cf push`` would; returns its guid."""
    bp = _ok(server.call("POST", "/v3/buildpacks", json={"name": "restart_bp"}), 201)
    bits = zip_directory(write_buildpack(tmp / "bp", BUILDPACK))
    r = server.call("POST", f"/v3/buildpacks/{bp['guid']}/upload", files={"bits": ("bp.zip", bits)})
    assert r.status_code == 202
    org = _ok(server.call("POST", "/v3/organizations", json={"name": "o"}), 201)
    rel = {"organization": {"data": {"guid": org["guid"]}}}
    space = _ok(server.call("POST", "/v3/spaces", json={"name": "s", "relationships": rel}), 201)
    text = "applications:\n- name: survivor\n  instances: 2\n  memory: 64M\n  buildpacks: [restart_bp]\n"
    r = server.call("POST", f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text, headers=YAML)
    assert r.status_code == 202
    wait_until(
        lambda: server.call("GET", r.headers["Location"].removeprefix(server.url)).json()["state"] == "COMPLETE",
        30,
        "the manifest",
    )
    app = server.call("GET", "/v3/apps", params={"names": "survivor"}).json()["resources"][0]
    rel = {"app": {"data": {"guid": app["guid"]}}}
    package = _ok(server.call("POST", "/v3/packages", json={"type": "bits", "relationships": rel}), 201)
    r = server.call(
        "POST", f"/v3/packages/{package['guid']}/upload", files={"bits": ("p.zip", make_zip({"server.py": SERVER}))}
    )
    assert r.status_code == 200
    wait_until(lambda: server.call("GET", f"/v3/packages/{package['guid']}").json()["state"] == "READY", 30, "package")
    build = _ok(server.call("POST", "/v3/builds", json={"package": {"guid": package["guid"]}}), 201)

    def staged() -> dict[str, Any] | None:
        body = server.call("GET", f"/v3/builds/{build['guid']}").json()
        assert body["state"] != "FAILED", body
        return body if body["state"] == "STAGED" else None

    droplet = wait_until(staged, 120, "the build")["droplet"]["guid"]
    _ok(server.call("PATCH", f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet}}))
    _ok(server.call("POST", f"/v3/apps/{app['guid']}/actions/start"))
    return str(app["guid"])


def _running(url: str, app_guid: str) -> list[str]:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            rows = s.scalars(select(Instance).where(Instance.app_guid == app_guid, Instance.state == "RUNNING"))
            return [r.guid for r in rows]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_instances_die_with_the_server_and_come_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'ladle.db'}"
    data = tmp_path / "data"
    server = Server(data, url)
    try:
        app = _push(server, tmp_path)
        first = wait_until(lambda: (g := _running(url, app)) and len(g) == 2 and g, 90, "two running instances")
        assert len(_processes_of(first)) >= 2
        server.kill()
        # bubblewrap's parent-death signal: the instances go with the server that started them.
        wait_until(lambda: not _processes_of(first), 15, "the killed server's instances to die")
    finally:
        if server.proc.poll() is None:
            server.kill()
    server = Server(data, url)
    try:
        again = wait_until(
            lambda: (g := _running(url, app)) and len(g) == 2 and not set(g) & set(first) and g, 90, "instances back"
        )
        assert _processes_of(again)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=60)
        # A clean stop stops the instances and forgets them.
        assert not _processes_of(again)
        assert not _running(url, app)
    finally:
        if server.proc.poll() is None:
            server.kill()
