"""The local runner running real droplets in real sandboxes: start, health, crash, stop, tasks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ladle.clock import new_guid
from ladle.db.models import AuditEvent, Instance, Task
from tests.staging.helpers import admin_buildpack, ready_package, stage
from tests.support.cf import World, unique
from tests.support.processes import processes_with_env
from tests.support.server import DATABASES, run_server

YAML = {"Content-Type": "application/x-yaml"}

# A buildpack that detects anything and declares the app's server.py as its web process.
BUILDPACK = {
    "detect": "echo python-ish",
    "compile": "true",
    "release": "printf 'default_process_types:\\n  web: python3 server.py\\n'",
}

SERVER = r"""
import http.server, json, os, sys
print("server starting on", os.environ["PORT"], flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k: v for k, v in os.environ.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("served", self.path, flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module", params=DATABASES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server of this module's own, with the local runner (the shared one runs no apps)."""
    kind: str = request.param
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with run_server(
        kind, tmp_path_factory.mktemp(f"runner-{kind}"), f"ladle_test_runner_{worker}", runner="local"
    ) as s:
        yield World(s)


@pytest.fixture(scope="module")
def buildpack(world: World, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(admin_buildpack(world, tmp_path_factory.mktemp("bp"), BUILDPACK)["name"])


def _staged_app(world: World, buildpack: str, files: dict[str, str | bytes], manifest: str = "") -> dict[str, Any]:
    space = world.space()
    name = unique("run")
    text = f"applications:\n- name: {name}\n  buildpacks: [{buildpack}]\n{manifest}"
    r = world.admin.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text.encode(), headers=YAML)
    assert r.status_code == 202, r.text
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    app = world.admin.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"][0]
    build = stage(world, ready_package(world, app, files))
    assert build["state"] == "STAGED", build
    r = world.admin.patch(
        f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": build["droplet"]["guid"]}}
    )
    assert r.status_code == 200, r.text
    return dict(app)


def _rows(world: World, app_guid: str) -> list[Instance]:
    with world.server.deps.db.session() as s:
        rows = list(s.scalars(select(Instance).where(Instance.app_guid == app_guid).order_by(Instance.index)))
        s.expunge_all()
        return rows


def _running(world: World, app_guid: str, count: int) -> list[Instance]:
    def check() -> list[Instance] | None:
        rows = [r for r in _rows(world, app_guid) if r.state == "RUNNING"]
        return rows if len(rows) == count else None

    result: list[Instance] = wait_until(check, 90, f"{count} running instances")
    return result


def _start(world: World, app: dict[str, Any]) -> None:
    r = world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    assert r.status_code == 200, r.text


def _pids_with(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def test_instances_run_healthy_with_cf_environment(world: World, buildpack: str) -> None:
    app = _staged_app(world, buildpack, {"server.py": SERVER}, "  instances: 2\n  memory: 128M\n")
    _start(world, app)
    rows = _running(world, app["guid"], 2)
    assert {r.index for r in rows} == {0, 1}
    assert len({r.port for r in rows}) == 2
    for row in rows:
        env = httpx.get(f"http://{row.host}:{row.port}/").json()
        assert env["PORT"] == "8080"
        assert env["CF_INSTANCE_INDEX"] == str(row.index)
        assert env["CF_INSTANCE_GUID"] == row.guid
        assert env["CF_INSTANCE_PORT"] == str(row.port)
        assert env["CF_INSTANCE_ADDR"] == f"127.0.0.1:{row.port}"
        assert json.loads(env["CF_INSTANCE_PORTS"]) == [{"external": row.port, "internal": 8080}]
        assert env["MEMORY_LIMIT"] == "128m"
        assert env["HOME"] == "/home/vcap/app"
        assert env["TMPDIR"] == "/home/vcap/tmp"
        vcap = json.loads(env["VCAP_APPLICATION"])
        assert (vcap["instance_index"], vcap["port"], vcap["process_type"]) == (row.index, 8080, "web")
        assert vcap["application_uris"] == [f"{app['name']}.apps.localhost"] or vcap["application_uris"] == []
    r = world.admin.get(f"/api/v1/read/{app['guid']}", params={"envelope_types": "LOG", "limit": 1000, "start_time": 0})
    payloads = [e["tags"]["source_type"] for e in r.json()["envelopes"]["batch"]]
    assert "APP/PROC/WEB" in payloads and "CELL" in payloads
    _stop_and_check_gone(world, app, [r.guid for r in rows])


def _stop_and_check_gone(world: World, app: dict[str, Any], instance_guids: list[str]) -> None:
    assert _processes_of(instance_guids), "the instances' processes were not found while running"
    r = world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    assert r.status_code == 200
    wait_until(lambda: not _rows(world, app["guid"]), 30, "instance rows to go")
    # Every process of an instance carries its guid in its environment: none of them may survive.
    wait_until(lambda: not _processes_of(instance_guids), 15, "the instances' processes to go")


def test_crashes_restart_then_back_off(world: World, buildpack: str) -> None:
    app = _staged_app(world, buildpack, {"server.py": "import sys; print('bye'); sys.exit(3)"})
    _start(world, app)

    def crashed() -> Instance | None:
        rows = _rows(world, app["guid"])
        return rows[0] if rows and rows[0].state == "CRASHED" else None

    row = wait_until(crashed, 60, "the instance to show CRASHED")
    assert row.crash_count == 3
    assert row.details == "APP/PROC/WEB: Exited with status 3"
    with world.server.deps.db.session() as s:
        kinds = list(s.scalars(select(AuditEvent.type).where(AuditEvent.target_guid == app["guid"])))
    assert kinds.count("audit.app.process.crash") == 3 and kinds.count("app.crash") == 3
    world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    wait_until(lambda: not _rows(world, app["guid"]), 30, "instance rows to go")


def test_memory_hog_is_killed_as_out_of_memory(world: World, buildpack: str) -> None:
    hog = (
        "import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))\n    time.sleep(0.01)\n"
    )
    app = _staged_app(world, buildpack, {"server.py": hog}, "  memory: 64M\n  health-check-type: process\n")
    _start(world, app)

    def crashed() -> Instance | None:
        rows = _rows(world, app["guid"])
        return rows[0] if rows and rows[0].details else None

    row = wait_until(crashed, 60, "the hog to be killed")
    assert row.details == "APP/PROC/WEB: Exited with status 137 (out of memory)"
    world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    wait_until(lambda: not _rows(world, app["guid"]), 30, "instance rows to go")


def test_killed_instance_is_restarted(world: World, buildpack: str) -> None:
    app = _staged_app(world, buildpack, {"server.py": SERVER})
    _start(world, app)
    (row,) = _running(world, app["guid"], 1)
    pids = wait_until(lambda: _pids_with("python3 server.py"), 10, "the app's process")
    mine = [p for p in pids if _environ_has(p, row.guid)]
    assert mine, "the app process was not found"
    os.kill(mine[0], signal.SIGKILL)

    def restarted() -> Instance | None:
        rows = _rows(world, app["guid"])
        return rows[0] if rows and rows[0].state == "RUNNING" and rows[0].guid != row.guid else None

    again = wait_until(restarted, 60, "a new instance")
    assert again.crash_count == 1
    assert httpx.get(f"http://{again.host}:{again.port}/").status_code == 200
    _stop_and_check_gone(world, app, [again.guid])


def _processes_of(instance_guids: list[str]) -> list[int]:
    return processes_with_env([f"CF_INSTANCE_GUID={g}" for g in instance_guids])


def _environ_has(pid: int, value: str) -> bool:
    try:
        return value.encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def test_tasks_run_to_success_and_failure(world: World, buildpack: str) -> None:
    app = _staged_app(world, buildpack, {"server.py": SERVER, "job.sh": "echo task says hi; exit ${CODE:-0}\n"})
    droplet = world.admin.get(f"/v3/apps/{app['guid']}/droplets/current").json()["guid"]
    guids = []
    with world.server.deps.db.session() as s:
        for sequence, command in enumerate(("bash job.sh", "CODE=4 bash job.sh"), start=1):
            task = Task(
                guid=new_guid(),
                app_guid=app["guid"],
                sequence_id=sequence,
                name=f"t{sequence}",
                command=command,
                state="RUNNING",
                memory_in_mb=128,
                disk_in_mb=256,
                droplet_guid=droplet,
            )
            s.add(task)
            guids.append(task.guid)
        s.commit()
    world.server.deps.notify_desired_state()

    def finished() -> list[Task] | None:
        with world.server.deps.db.session() as s:
            tasks = list(s.scalars(select(Task).where(Task.guid.in_(guids)).order_by(Task.sequence_id)))
            s.expunge_all()
        return tasks if all(t.state in ("SUCCEEDED", "FAILED") for t in tasks) else None

    ok, bad = wait_until(finished, 60, "the tasks to finish")
    assert (ok.state, ok.failure_reason) == ("SUCCEEDED", None)
    assert (bad.state, bad.failure_reason) == ("FAILED", "APP/TASK/t2: Exited with status 4")

    def sources() -> set[str]:
        r = world.admin.get(f"/api/v1/read/{app['guid']}", params={"envelope_types": "LOG", "start_time": 0})
        return {e["tags"]["source_type"] for e in r.json()["envelopes"]["batch"]}

    # Log lines are stored in batches, so they may land just after the task's final state.
    wait_until(lambda: {"APP/TASK/t1", "APP/TASK/t2"} <= sources(), 10, "both tasks' output in the app's log")
