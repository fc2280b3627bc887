"""The request sequences of the official cf CLI (v7.2.0 and v8), replayed against a real server:
push (with and without a manifest), apps, app, scale, restart, logs --recent, run-task, delete -r.

Every field the CLI decodes is checked for the JSON type Go's decoder needs (a wrong type is a
fatal error there), and the pushed app is finally reached through the router.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.test_local_runner import BUILDPACK, SERVER, wait_until
from tests.staging.helpers import admin_buildpack
from tests.support.cf import Api, World, login, unique
from tests.support.server import ADMIN_PASSWORD, run_server
from tests.support.traffic import TrafficRecord

YAML = {"Content-Type": "application/x-yaml"}
# Go's zero time, which `cf logs --recent` sends as start_time.
GO_ZERO_TIME = "-6795364578871345152"


@pytest.fixture(scope="module")
def cf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    data = tmp_path_factory.mktemp("push")
    with run_server("sqlite", data, "ladle_test_push", router_enabled=True, runner="local") as server:
        world = World(server)
        buildpack = admin_buildpack(world, Path(str(data)) / "bp", BUILDPACK)["name"]
        yield world, str(buildpack)


def _is(value: Any, kind: type | tuple[type, ...], nullable: bool = False) -> bool:
    if value is None:
        return nullable
    if kind is int or kind == (int,):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_types(body: dict[str, Any], spec: dict[str, Any], where: str = "") -> None:
    """``spec`` maps dotted paths to a type, or to (type, nullable)."""
    for path, expected in spec.items():
        kind, nullable = expected if isinstance(expected, tuple) else (expected, False)
        value: Any = body
        for part in path.split("."):
            assert isinstance(value, dict) and part in value, f"{where}{path}: missing in {body}"
            value = value[part]
        assert _is(value, kind, nullable), f"{where}{path}: {value!r} is not {kind}"


APP_FIELDS = {
    "guid": str,
    "name": str,
    "state": str,
    "lifecycle.type": str,
    "lifecycle.data.buildpacks": list,
    "lifecycle.data.stack": (str, True),
    "relationships.space.data.guid": str,
    "metadata": dict,
}
PROCESS_FIELDS = {
    "guid": str,
    "type": str,
    "command": (str, True),
    "instances": int,
    "memory_in_mb": int,
    "disk_in_mb": (int, True),
    "log_rate_limit_in_bytes_per_second": (int, True),
    "health_check.type": str,
    "health_check.data.timeout": (int, True),
    "health_check.data.invocation_timeout": (int, True),
    "readiness_health_check.type": str,
    "relationships.app.data.guid": str,
}
STATS_FIELDS = {
    "type": str,
    "index": int,
    "state": str,
    "uptime": int,
    "mem_quota": (int, True),
    "disk_quota": (int, True),
    "details": (str, True),
    "usage": dict,
}


DOWN_KEYS = {"type", "index", "state", "routable", "uptime", "isolation_segment", "details"}


def check_stats(entry: dict[str, Any]) -> None:
    """A DOWN entry has exactly seven keys; any other has every field the CLI decodes."""
    if entry["state"] == "DOWN":
        assert set(entry) == DOWN_KEYS, entry
        check_types(entry, {"index": int, "uptime": int}, "down stats ")
    else:
        check_types(entry, STATS_FIELDS, "stats ")
        for key in ("mem", "disk"):
            if key in entry["usage"]:
                assert _is(entry["usage"][key], int) and entry["usage"][key] >= 0, entry
        if "cpu" in entry["usage"]:
            assert isinstance(entry["usage"]["cpu"], float | int), entry


def _job(api: Api, location: str) -> dict[str, Any]:
    job = api.wait_for_job(location, timeout=60)
    check_types(job, {"guid": str, "state": str, "errors": list, "warnings": list})
    return job


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return out.getvalue()


def _stats_until_running(api: Api, app_guid: str, count: int) -> list[dict[str, Any]]:
    """The CLI's wait: list the processes, then poll each one's stats until one is RUNNING."""
    processes = api.get(f"/v3/apps/{app_guid}/processes").json()["resources"]
    web = next(p for p in processes if p["type"] == "web")

    def running() -> list[dict[str, Any]] | None:
        body = api.get(f"/v3/processes/{web['guid']}/stats").json()
        entries: list[dict[str, Any]] = body["resources"]
        for entry in entries:
            check_stats(entry)
            assert entry["state"] != "CRASHED", entry
        up = [e for e in entries if e["state"] == "RUNNING"]
        return entries if len(up) == count and len(entries) == count else None

    result: list[dict[str, Any]] = wait_until(running, 90, f"{count} RUNNING entries in stats")
    return result


def push(
    api: Api, world: World, space: dict[str, Any], name: str, manifest: str, *, v8: bool, instances: int = 1
) -> dict[str, Any]:
    """``cf push NAME`` as the CLI sends it, from the manifest step to the summary."""
    base = world.server.url
    root = httpx.get(f"{base}/").json()
    assert root["links"]["cloud_controller_v3"]["meta"]["version"].count(".") == 2
    v3 = httpx.get(f"{base}/v3").json()["links"]
    for resource in ("apps", "packages", "builds", "droplets", "processes", "routes", "domains", "tasks"):
        assert v3[resource]["href"] == f"{base}/v3/{resource}"
    settings = world.server.settings
    router = f"http://{settings.router_host}:{settings.router_port}"
    assert httpx.get(f"{base}/v3/info").json()["custom"] == {"router": router}
    if v8:
        r = api.post(f"/v3/spaces/{space['guid']}/manifest_diff", content=manifest.encode(), headers=YAML)
        assert r.status_code == 201 and isinstance(r.json()["diff"], list)
    r = api.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=manifest.encode(), headers=YAML)
    assert r.status_code == 202 and r.content == b""
    assert _job(api, r.headers["Location"])["state"] == "COMPLETE"
    (app,) = api.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"]
    check_types(app, APP_FIELDS, "app ")
    server_py = SERVER.encode()
    matches = api.post(
        "/v3/resource_matches",
        json={
            "resources": [
                {
                    "path": "server.py",
                    "mode": "644",
                    "checksum": {"value": hashlib.sha1(server_py).hexdigest()},
                    "size_in_bytes": len(server_py),
                }
            ]
        },
    )
    assert matches.status_code == 201
    assert all(isinstance(m["mode"], str) and m["mode"] for m in matches.json()["resources"])
    rel = {"app": {"data": {"guid": app["guid"]}}}
    package = api.post("/v3/packages", json={"relationships": rel, "type": "bits"}).json()
    check_types(package, {"guid": str, "state": str, "type": str, "created_at": str, "links": dict})
    r = api.post(
        f"/v3/packages/{package['guid']}/upload",
        files={
            "resources": (None, "[]"),
            "bits": ("package.zip", _zip({"server.py": SERVER}), "application/zip"),
        },
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: api.get(f"/v3/packages/{package['guid']}").json()["state"] == "READY", 30, "package READY")
    build = api.post("/v3/builds", json={"package": {"guid": package["guid"]}}).json()
    check_types(build, {"guid": str, "state": str, "error": (str, True), "package.guid": str, "created_at": str})
    info = api.get("/api/v1/info").json()
    assert info["version"].startswith("2.")

    def staged() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v3/builds/{build['guid']}").json()
        assert body["state"] != "FAILED", body
        return body if body["state"] == "STAGED" else None

    done = wait_until(staged, 120, "the build")
    droplet_guid = done["droplet"]["guid"]
    assert api.get(f"/v3/droplets/{droplet_guid}").status_code == 200
    r = api.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet_guid}})
    assert r.status_code == 200
    r = api.post(f"/v3/apps/{app['guid']}/actions/restart", headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["state"] == "STARTED"
    _stats_until_running(api, app["guid"], instances)
    return summary(api, space, name, v8=v8)


def summary(api: Api, space: dict[str, Any], name: str, *, v8: bool) -> dict[str, Any]:
    """What push and ``cf app`` read to print the app's summary."""
    (app,) = api.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"]
    processes = api.get(f"/v3/apps/{app['guid']}/processes").json()["resources"]
    for listed in processes:
        process = api.get(f"/v3/processes/{listed['guid']}").json()
        check_types(process, PROCESS_FIELDS, "process ")
        sidecars = api.get(f"/v3/processes/{listed['guid']}/sidecars").json()
        assert sidecars["resources"] == [] and sidecars["pagination"]["total_results"] == 0
        for entry in api.get(f"/v3/processes/{listed['guid']}/stats").json()["resources"]:
            check_stats(entry)
    routes = api.get(f"/v3/apps/{app['guid']}/routes").json()["resources"]
    for route in routes:
        check_types(route, {"guid": str, "host": str, "path": str, "port": (int, True), "url": str, "protocol": str})
    current = api.get(f"/v3/apps/{app['guid']}/droplets/current")
    assert current.status_code == 200
    if v8:
        r = api.get(
            "/v3/deployments",
            params={
                "app_guids": app["guid"],
                "status_values": "ACTIVE",
                "order_by": "-created_at",
                "page": 1,
                "per_page": 1,
            },
        )
        assert r.status_code == 200
    return dict(app)


def _through_router(world: World, host: str) -> httpx.Response:
    settings = world.server.settings
    return httpx.get(f"http://{settings.router_host}:{settings.router_port}/", headers={"Host": host})


@pytest.mark.parametrize("v8", [False, True], ids=["cf7", "cf8"])
def test_push_apps_app_scale_restart_logs_task_delete(cf: tuple[World, str], v8: bool) -> None:
    world, buildpack = cf
    tokens = login(world.server.url, "admin", ADMIN_PASSWORD)
    api = Api(world.server.url, tokens["access_token"])
    space = world.space()
    name = unique("pushed")
    manifest = f"applications:\n- name: {name}\n  memory: 128M\n  buildpacks: [{buildpack}]\n  default-route: true\n"
    app = push(api, world, space, name, manifest, v8=v8)
    host = f"{name}.apps.localhost"
    body = wait_until(lambda: (r := _through_router(world, host)).status_code == 200 and r.json(), 30, "the route")
    assert json.loads(body["VCAP_APPLICATION"])["application_name"] == name

    # cf apps
    listed = api.get("/v3/apps", params={"order_by": "name", "space_guids": space["guid"]}).json()["resources"]
    assert [a["name"] for a in listed] == [name]
    processes = api.get("/v3/processes", params={"app_guids": app["guid"]}).json()["resources"]
    assert [p["type"] for p in processes] == ["web"]
    urls = [r["url"] for r in api.get("/v3/routes", params={"app_guids": app["guid"]}).json()["resources"]]
    assert urls == [host]

    # cf scale -i 3
    r = api.post(f"/v3/apps/{app['guid']}/processes/web/actions/scale", json={"instances": 3})
    assert r.status_code == 202 and "Location" not in r.headers
    check_types(r.json(), PROCESS_FIELDS, "scaled ")
    entries = _stats_until_running(api, app["guid"], 3)
    assert sorted(e["index"] for e in entries) == [0, 1, 2]
    ports = {e["instance_ports"][0]["external"] for e in entries}
    assert len(ports) == 3
    seen = wait_until(
        lambda: (
            (s := {_through_router(world, host).json()["CF_INSTANCE_INDEX"] for _ in range(12)}) == {"0", "1", "2"}
            and s
        ),
        30,
        "the router to spread requests over the three instances",
    )
    assert seen == {"0", "1", "2"}

    # cf restart
    before = {e["instance_guid"] for e in entries}
    r = api.post(f"/v3/apps/{app['guid']}/actions/restart")
    assert r.status_code == 200
    after = _stats_until_running(api, app["guid"], 3)
    assert not before & {e["instance_guid"] for e in after}

    # cf logs --recent
    r = api.get(
        f"/api/v1/read/{app['guid']}",
        params={"descending": "true", "envelope_types": "LOG", "limit": 1000, "start_time": GO_ZERO_TIME},
    )
    envelopes = r.json()["envelopes"]["batch"]
    sources = {e["tags"]["source_type"] for e in envelopes}
    assert {"STG", "APP/PROC/WEB", "RTR", "CELL"} <= sources, sources
    for envelope in envelopes:
        # Fields of log-cache's Envelope message only: the CLI's decoder rejects unknown ones.
        assert {"timestamp", "source_id", "instance_id", "tags", "log"} <= set(envelope)
        assert set(envelope) <= {"timestamp", "source_id", "instance_id", "tags", "deprecated_tags", "log"}
        assert envelope["log"]["type"] in {"OUT", "ERR"}
        base64.b64decode(envelope["log"]["payload"])

    # cf run-task
    r = api.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "echo from the task; exit 0", "name": "hello"})
    assert r.status_code == 202, r.text
    task = r.json()
    check_types(
        task, {"guid": str, "sequence_id": int, "name": str, "state": str, "result.failure_reason": (str, True)}
    )
    assert task["state"] == "RUNNING"
    finished = wait_until(
        lambda: (t := api.get(f"/v3/tasks/{task['guid']}").json())["state"] in {"SUCCEEDED", "FAILED"} and t,
        60,
        "the task",
    )
    assert finished["state"] == "SUCCEEDED", finished

    # cf delete -r
    routes = api.get(f"/v3/apps/{app['guid']}/routes").json()["resources"]
    r = api.delete(f"/v3/apps/{app['guid']}")
    assert r.status_code == 202
    assert _job(api, r.headers["Location"])["state"] == "COMPLETE"
    for route in routes:
        r = api.delete(f"/v3/routes/{route['guid']}")
        assert _job(api, r.headers["Location"])["state"] == "COMPLETE"
    assert wait_until(lambda: _through_router(world, host).status_code == 404, 30, "the route to go")
    r = api.get(f"/v3/apps/{app['guid']}/droplets/current")
    assert r.status_code == 404 and r.json()["errors"][0]["detail"] == "App not found"


def test_push_without_a_manifest_file_and_bad_input(cf: tuple[World, str]) -> None:
    """`cf push NAME --no-manifest -m 256`: the CLI still sends a manifest built from the flags."""
    world, _ = cf
    space = world.space()
    r = world.admin.post(
        f"/v3/spaces/{space['guid']}/actions/apply_manifest",
        content=b"applications:\n- name: flags\n  memory: '256'\n",
        headers=YAML,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        "For application 'flags': Process \"web\": Memory must use a supported unit: B, K, KB, M, MB, G, GB, T, or TB"
    )
    app = world.app(space)
    r = world.admin.post(f"/v3/apps/{app['guid']}/processes/web/actions/scale", json={"instances": -1})
    assert r.status_code == 422
    r = world.admin.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "true"})
    assert r.status_code == 422
    assert (
        r.json()["errors"][0]["detail"] == "Task must have a droplet. Specify droplet or assign current droplet to app."
    )


def test_rolling_restart_loses_no_request(cf: tuple[World, str]) -> None:
    """`cf restart --strategy rolling` on two instances under a steady stream of requests."""
    world, buildpack = cf
    api = world.admin
    space = world.space()
    name = unique("rolling")
    manifest = (
        f"applications:\n- name: {name}\n  memory: 128M\n  instances: 2\n  buildpacks: [{buildpack}]\n"
        "  default-route: true\n"
    )
    app = push(api, world, space, name, manifest, v8=True, instances=2)
    before = {e["instance_guid"] for e in _stats_until_running(api, app["guid"], 2)}
    host = f"{name}.apps.localhost"
    settings = world.server.settings
    router = f"http://{settings.router_host}:{settings.router_port}"
    wait_until(lambda: _through_router(world, host).status_code == 200, 30, "the route")
    droplet = api.get(f"/v3/apps/{app['guid']}/droplets/current").json()["guid"]
    traffic = TrafficRecord()
    r = api.post(
        "/v3/deployments",
        json={"droplet": {"guid": droplet}, "relationships": {"app": {"data": {"guid": app["guid"]}}}},
    )
    assert r.status_code == 201, r.text
    deployment = r.json()
    with httpx.Client(base_url=router, headers={"Host": host}, timeout=10) as client:

        def finished() -> dict[str, Any] | None:
            # A steady stream: a few requests between each look at the deployment.
            for _ in range(5):
                traffic.send(client)
            body: dict[str, Any] = api.get(f"/v3/deployments/{deployment['guid']}").json()
            return body if body["status"]["value"] == "FINALIZED" else None

        final = wait_until(finished, 180, "the rolling deployment to finish")
    assert final["status"]["reason"] == "DEPLOYED", final
    assert traffic.failures == []
    after = {e["instance_guid"] for e in _stats_until_running(api, app["guid"], 2)}
    assert not before & after
    # Requests were served by old and new instances along the way.
    assert traffic.served & before and traffic.served & after
