"""Requests through the router reach the running instances of a route's app (the table comes from
the database: routes, destinations and the runner's RUNNING instances)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.test_local_runner import BUILDPACK, SERVER, _rows, _running, _staged_app, _start, wait_until
from tests.staging.helpers import admin_buildpack
from tests.support.cf import World
from tests.support.server import run_server


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    data = tmp_path_factory.mktemp("routed")
    with run_server("sqlite", data, "ladle_test_routed", router_enabled=True, runner="local") as server:
        world = World(server)
        buildpack = admin_buildpack(world, Path(str(data)) / "bp", BUILDPACK)["name"]
        yield world, str(buildpack)


def _router(world: World) -> str:
    settings = world.server.settings
    return f"http://{settings.router_host}:{settings.router_port}"


def test_three_instances_share_the_traffic(routed: tuple[World, str]) -> None:
    world, buildpack = routed
    app = _staged_app(world, buildpack, {"server.py": SERVER}, "  instances: 3\n  default-route: true\n")
    _start(world, app)
    rows = _running(world, app["guid"], 3)
    host = f"{app['name']}.apps.localhost"
    router = _router(world)

    def routed_to_all() -> set[str] | None:
        # The router picks up RUNNING instances within a poll: until then the route is unknown (404).
        with httpx.Client(base_url=router) as client:
            responses = [client.get("/", headers={"Host": host.upper()}) for _ in range(9)]
        seen = {r.json()["CF_INSTANCE_INDEX"] for r in responses if r.status_code == 200}
        return seen if seen == {"0", "1", "2"} else None

    assert wait_until(routed_to_all, 30, "requests to reach all three instances") == {"0", "1", "2"}
    with httpx.Client(base_url=router) as client:
        r = client.get("/some/path?x=1", headers={"Host": host})
        env: dict[str, Any] = r.json()
    assert r.status_code == 200
    assert env["CF_INSTANCE_GUID"] in {row.guid for row in rows}
    r = httpx.get(f"{router}/", headers={"Host": "nobody.apps.localhost"})
    assert r.status_code == 404
    assert r.text == "404 Not Found: Requested route ('nobody.apps.localhost') does not exist.\n"

    def rtr_lines() -> list[str] | None:
        body = world.admin.get(
            f"/api/v1/read/{app['guid']}", params={"envelope_types": "LOG", "limit": 1000, "start_time": 0}
        ).json()
        lines = [
            base64.b64decode(e["log"]["payload"]).decode()
            for e in body["envelopes"]["batch"]
            if e["tags"]["source_type"] == "RTR"
        ]
        return lines if any("/some/path?x=1" in line for line in lines) else None

    lines = wait_until(rtr_lines, 15, "RTR lines in the app's log")
    assert any(line.startswith(f"{host} - [") and '"GET /some/path?x=1 HTTP/1.1" 200' in line for line in lines)
    world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    wait_until(lambda: not _rows(world, app["guid"]), 30, "instances to stop")

    def gone() -> bool:
        return httpx.get(f"{router}/", headers={"Host": host}).status_code == 404

    # A route with no running instance is not in the router's table, as in gorouter.
    assert wait_until(gone, 10, "the route to leave the router's table")


def test_the_server_tells_the_router_of_each_change_at_once(tmp_path: Path) -> None:
    # With a poll the router would not make for ten minutes, only the server's word (SIGUSR1 to
    # the router process, on each instance state the runner commits, each change of a route's
    # destinations and the end of each job that changes routing) can bring the route in and out.
    with run_server(
        "sqlite", tmp_path, "ladle_test_router_told", router_enabled=True, runner="local", router_poll_interval=600
    ) as server:
        world = World(server)
        buildpack = str(admin_buildpack(world, tmp_path / "bp", BUILDPACK)["name"])
        app = _staged_app(world, buildpack, {"server.py": SERVER}, "  default-route: true\n")
        host = f"{app['name']}.apps.localhost"
        router = _router(world)

        def status() -> int:
            return httpx.get(f"{router}/", headers={"Host": host}).status_code

        assert status() == 404
        _start(world, app)
        _running(world, app["guid"], 1)
        wait_until(lambda: status() == 200, 30, "the started instance in the router's table")
        # cf unmap-route, then cf map-route.
        (route,) = world.admin.get(f"/v3/apps/{app['guid']}/routes").json()["resources"]
        (destination,) = route["destinations"]
        r = world.admin.delete(f"/v3/routes/{route['guid']}/destinations/{destination['guid']}")
        assert r.status_code == 204, r.text
        wait_until(lambda: status() == 404, 30, "the unmapped route out of the router's table")
        r = world.admin.post(
            f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
        )
        assert r.status_code == 200, r.text
        wait_until(lambda: status() == 200, 30, "the mapped route back in the router's table")
        # cf delete-route: a job, whose end the router is told of (the instance runs on).
        r = world.admin.delete(f"/v3/routes/{route['guid']}")
        assert r.status_code == 202, r.text
        assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
        wait_until(lambda: status() == 404, 30, "the deleted route out of the router's table")
        assert [row.state for row in _rows(world, app["guid"])] == ["RUNNING"]
        world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
        wait_until(lambda: not _rows(world, app["guid"]), 30, "the instance to stop")
