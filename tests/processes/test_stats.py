"""Stats and process instances, from instance rows written as a runner writes them.

No runner runs here: rows are inserted directly, which is exactly what a runner reports.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select, update

from ladle.api import process_stats
from ladle.db.models import Instance
from tests.processes.helpers import Between, add_instance, cf_error, deployable_app
from tests.support.cf import World
from tests.support.waiting import wait_until

WARNING = "Stats+server+temporarily+unavailable."


def down(index: int, process_type: str = "web") -> dict[str, Any]:
    return {
        "type": process_type,
        "index": index,
        "state": "DOWN",
        "routable": None,
        "uptime": 0,
        "isolation_segment": None,
        "details": None,
    }


@pytest.fixture
def started(world: World, space: dict[str, Any]) -> dict[str, Any]:
    """A started app whose web process is returned (as JSON)."""
    app = deployable_app(world, space)
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    return dict(world.admin.get(f"/v3/processes/{app['guid']}").json())


def stats(world: World, process: dict[str, Any]) -> Any:
    r = world.admin.get(f"/v3/processes/{process['guid']}/stats")
    assert r.status_code == 200, r.text
    return r


def test_no_runner_shows_down_entries(world: World, space: dict[str, Any], started: dict[str, Any]) -> None:
    # Cloud Controller shows DOWN for every desired index Diego has nothing for.
    r = stats(world, started)
    assert r.json() == {"resources": [down(0)]}
    assert "x-cf-warnings" not in r.headers
    # A stopped app with one desired instance: one DOWN entry too.
    stopped = deployable_app(world, space)
    assert world.admin.get(f"/v3/processes/{stopped['guid']}/stats").json() == {"resources": [down(0)]}


def test_zero_instances_is_an_empty_list(world: World, started: dict[str, Any]) -> None:
    scale = world.admin.post(f"/v3/processes/{started['guid']}/actions/scale", json={"instances": 0})
    assert scale.status_code == 202
    assert stats(world, started).json() == {"resources": []}


def test_running_instance_with_metrics(world: World, started: dict[str, Any]) -> None:
    row = add_instance(
        world,
        started,
        0,
        age=90,
        host="127.0.0.1",
        port=61001,
        internal_ip="10.255.0.7",
        internal_port=8080,
        routable=True,
        mem_quota=1073741824,
        disk_quota=1073741824,
        log_rate_limit=-1,
        fds_quota=16384,
        usage={"time": "2026-01-01T00:00:00+00:00", "cpu": 0.25, "mem": 19177472, "disk": 69705728, "log_rate": 12},
    )
    r = stats(world, started)
    assert "x-cf-warnings" not in r.headers
    assert r.json() == {
        "resources": [
            {
                "type": "web",
                "index": 0,
                "instance_guid": row.guid,
                "state": "RUNNING",
                "routable": True,
                "host": "127.0.0.1",
                "instance_internal_ip": "10.255.0.7",
                "uptime": Between(90, 95),
                "mem_quota": 1073741824,
                "disk_quota": 1073741824,
                "log_rate_limit": -1,
                "fds_quota": 16384,
                "isolation_segment": None,
                "details": None,
                "instance_ports": [
                    {
                        "external": 61001,
                        "internal": 8080,
                        "external_tls_proxy_port": None,
                        "internal_tls_proxy_port": None,
                    }
                ],
                "usage": {
                    "time": "2026-01-01T00:00:00+00:00",
                    "cpu": 0.25,
                    "cpu_entitlement": None,
                    "mem": 19177472,
                    "disk": 69705728,
                    "log_rate": 12,
                },
            }
        ]
    }
    # The JSON types the cf CLI decodes strictly (Go: int64, uint64, float64, *bool).
    entry = r.json()["resources"][0]
    assert type(entry["index"]) is int and type(entry["uptime"]) is int
    assert all(type(entry[k]) is int and entry[k] >= 0 for k in ("mem_quota", "disk_quota"))
    assert type(entry["log_rate_limit"]) is int
    assert type(entry["usage"]["cpu"]) is float
    assert all(type(entry["usage"][k]) is int and entry["usage"][k] >= 0 for k in ("mem", "disk", "log_rate"))
    assert type(entry["routable"]) is bool


def test_starting_instance_without_metrics_warns(world: World, started: dict[str, Any]) -> None:
    row = add_instance(world, started, 0, state="STARTING", age=3)
    r = stats(world, started)
    assert r.headers["x-cf-warnings"] == WARNING
    assert r.json() == {
        "resources": [
            {
                "type": "web",
                "index": 0,
                "instance_guid": row.guid,
                "state": "STARTING",
                "routable": False,
                "host": "",
                "instance_internal_ip": None,
                "uptime": Between(3, 8),
                "mem_quota": None,
                "disk_quota": None,
                "log_rate_limit": None,
                "fds_quota": 16384,
                "isolation_segment": None,
                "details": None,
                "instance_ports": [],
                "usage": {},
            }
        ]
    }


def test_crashed_instances_and_down_gaps(world: World, started: dict[str, Any]) -> None:
    assert world.admin.post(f"/v3/processes/{started['guid']}/actions/scale", json={"instances": 3}).status_code == 202
    reason = "APP/PROC/WEB: Exited with status 1"
    crashed = add_instance(world, started, 2, state="CRASHED", age=40, details=reason, crash_count=3)
    resources = stats(world, started).json()["resources"]
    assert [(e["index"], e["state"]) for e in resources] == [(0, "DOWN"), (1, "DOWN"), (2, "CRASHED")]
    assert resources[:2] == [down(0), down(1)]
    assert (resources[2]["instance_guid"], resources[2]["details"], resources[2]["uptime"]) == (
        crashed.guid,
        reason,
        Between(40, 45),
    )


def test_more_instances_than_desired(world: World, started: dict[str, Any]) -> None:
    # Scaled down from 3 to 1: until the runner stops them, indexes 1 and 2 are still reported.
    rows = [add_instance(world, started, i, age=10) for i in range(3)]
    assert [e["index"] for e in stats(world, started).json()["resources"]] == [0]
    r = world.admin.get(f"/v3/processes/{started['guid']}/process_instances")
    base = world.server.url
    # process_instances shows up to the larger of desired and reported, as Cloud Controller does.
    assert r.json() == {
        "resources": [{"index": i, "state": "RUNNING", "since": Between(10, 15)} for i in range(3)],
        "links": {
            "self": {"href": f"{base}/v3/processes/{started['guid']}/process_instances"},
            "process": {"href": f"{base}/v3/processes/{started['guid']}"},
        },
    }
    assert len(rows) == 3


def test_instances_of_an_older_version_count_as_gone(world: World, started: dict[str, Any]) -> None:
    add_instance(world, started, 0, age=100)
    restarted = world.admin.post(f"/v3/apps/{started['guid']}/actions/restart")
    assert restarted.status_code == 200
    # The restart gave the process a new version: its old instance no longer stands for index 0.
    assert stats(world, started).json() == {"resources": [down(0)]}
    new = dict(world.admin.get(f"/v3/processes/{started['guid']}").json())
    assert new["version"] != started["version"]
    row = add_instance(world, new, 0, state="STARTING", age=1)
    [entry] = stats(world, started).json()["resources"]
    assert (entry["instance_guid"], entry["state"]) == (row.guid, "STARTING")


def test_stopped_process_shows_its_indexes_down(world: World, started: dict[str, Any]) -> None:
    add_instance(world, started, 0, age=20, routable=True)
    assert world.admin.post(f"/v3/apps/{started['guid']}/actions/stop").status_code == 200
    [entry] = stats(world, started).json()["resources"]
    assert entry == {**down(0), "routable": True, "uptime": Between(20, 25)}
    instances = world.admin.get(f"/v3/processes/{started['guid']}/process_instances").json()["resources"]
    assert instances == [{"index": 0, "state": "DOWN", "since": None}]


def test_app_nested_stats_and_errors(world: World, started: dict[str, Any]) -> None:
    app_guid = started["relationships"]["app"]["data"]["guid"]
    assert world.admin.get(f"/v3/apps/{app_guid}/processes/web/stats").json() == {"resources": [down(0)]}
    r = world.admin.get(f"/v3/apps/{app_guid}/processes/worker/stats")
    assert (r.status_code, r.json()) == (404, cf_error("Process not found", "CF-ResourceNotFound", 10010))
    r = world.admin.get("/v3/processes/nope/stats")
    assert (r.status_code, r.json()) == (404, cf_error("Process not found", "CF-ResourceNotFound", 10010))


def test_embed_process_instances(world: World, started: dict[str, Any]) -> None:
    add_instance(world, started, 0, age=5)
    app_guid = started["relationships"]["app"]["data"]["guid"]
    listed = world.admin.get("/v3/processes", params={"app_guids": app_guid, "embed": "process_instances"}).json()
    [body] = listed["resources"]
    assert list(body)[list(body).index("relationships") - 1] == "process_instances"
    assert body["process_instances"] == [{"index": 0, "state": "RUNNING", "since": Between(5, 10)}]
    shown = world.admin.get(f"/v3/processes/{started['guid']}", params={"embed": "process_instances"}).json()
    assert shown["process_instances"] == [{"index": 0, "state": "RUNNING", "since": Between(5, 10)}]
    assert "process_instances" not in world.admin.get(f"/v3/processes/{started['guid']}").json()
    r = world.admin.get("/v3/processes", params={"embed": "routes,process_instances,process_instances"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["detail"] == (
        "The query parameter is invalid: Invalid embedded resource: 'routes'. Valid embedded resources are: "
        "'process_instances', Duplicate embedded resource: 'process_instances'"
    )


def test_delete_instance_asks_the_runner_to_replace_it(world: World, started: dict[str, Any]) -> None:
    row = add_instance(world, started, 0, age=5)
    r = world.admin.delete(f"/v3/processes/{started['guid']}/instances/0")
    assert (r.status_code, r.content) == (204, b"")
    with world.server.deps.db.session() as session:
        assert session.scalar(select(Instance.stop_requested).where(Instance.guid == row.guid)) is True
    app_guid = started["relationships"]["app"]["data"]["guid"]
    # An index in range with nothing reported is still a slot Cloud Controller accepts.
    assert world.admin.delete(f"/v3/apps/{app_guid}/processes/web/instances/0").status_code == 204
    for bad in ("1", "-1"):
        r = world.admin.delete(f"/v3/processes/{started['guid']}/instances/{bad}")
        assert (r.status_code, r.json()) == (404, cf_error("Instance not found", "CF-ResourceNotFound", 10010))


def test_sidecars_are_an_empty_page(world: World, started: dict[str, Any]) -> None:
    base = world.server.url
    app_guid = started["relationships"]["app"]["data"]["guid"]
    for path in (f"/v3/apps/{app_guid}/sidecars", f"/v3/processes/{started['guid']}/sidecars"):
        r = world.admin.get(path)
        assert r.json() == {
            "pagination": {
                "total_results": 0,
                "total_pages": 1,
                "first": {"href": f"{base}{path}?page=1&per_page=50"},
                "last": {"href": f"{base}{path}?page=1&per_page=50"},
                "next": None,
                "previous": None,
            },
            "resources": [],
        }
        assert world.admin.get(path, params={"names": "x"}).status_code == 400
    r = world.admin.get("/v3/apps/nope/sidecars")
    assert (r.status_code, r.json()) == (404, cf_error("App not found", "CF-ResourceNotFound", 10010))


def test_versions_follow_cloud_controllers_rules(world: World, space: dict[str, Any]) -> None:
    app = deployable_app(world, space)
    path = f"/v3/processes/{app['guid']}"

    def version() -> str:
        return str(world.admin.get(path).json()["version"])

    initial = version()
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    started = version()
    # Going from STOPPED to STARTED asks for a new generation of instances...
    assert started != initial
    # ...starting a started app does not, nor does stopping it...
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    assert version() == started
    world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    assert version() == started
    # ...and a restart always does, whether the app was started or stopped.
    world.admin.post(f"/v3/apps/{app['guid']}/actions/restart")
    restarted = version()
    assert restarted != started
    world.admin.post(f"/v3/apps/{app['guid']}/actions/restart")
    assert version() != restarted


def _follow(world: World, process: dict[str, Any], into: list[list[tuple[int, str]]]) -> threading.Thread:
    def read() -> None:
        with world.admin.http.stream("GET", f"/v3/processes/{process['guid']}/stats/stream") as response:
            assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
            for line in response.iter_lines():
                if line:
                    into.append([(e["index"], e["state"]) for e in json.loads(line)["resources"]])

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_stats_stream_shows_each_change_and_ends_once_settled(world: World, started: dict[str, Any]) -> None:
    seen: list[list[tuple[int, str]]] = []
    follower = _follow(world, started, seen)
    wait_until(lambda: seen, timeout=10, message="the first stats on the stream")
    row = add_instance(world, started, 0, state="STARTING")
    wait_until(lambda: len(seen) >= 2, timeout=10, message=lambda: f"STARTING on the stream: {seen}")
    assert follower.is_alive(), "the stream should go on while an instance is STARTING"
    with world.server.deps.db.session() as session:
        session.execute(update(Instance).where(Instance.guid == row.guid).values(state="RUNNING"))
        session.commit()
    follower.join(timeout=10)
    assert not follower.is_alive(), "the stream should end once every instance runs"
    assert seen == [[(0, "DOWN")], [(0, "STARTING")], [(0, "RUNNING")]]


def test_stats_stream_answers_a_signalled_change_at_once(
    world: World, started: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the fallback poll out of reach, only the runner's signal can end the stream in time.
    monkeypatch.setattr(process_stats, "STREAM_POLL", 600.0)
    row = add_instance(world, started, 0, state="STARTING")
    seen: list[list[tuple[int, str]]] = []
    follower = _follow(world, started, seen)
    wait_until(lambda: seen, timeout=10, message="the first stats on the stream")
    with world.server.deps.db.session() as session:
        session.execute(update(Instance).where(Instance.guid == row.guid).values(state="RUNNING"))
        session.commit()
    world.server.deps.services.changes.notify()
    follower.join(timeout=30)
    assert not follower.is_alive(), "a signalled change should be looked at without waiting for the poll"
    assert seen == [[(0, "STARTING")], [(0, "RUNNING")]]


def test_stats_stream_of_a_stopped_process_ends_at_once(
    world: World, space: dict[str, Any], started: dict[str, Any]
) -> None:
    stopped = deployable_app(world, space)
    seen: list[list[tuple[int, str]]] = []
    _follow(world, world.admin.get(f"/v3/processes/{stopped['guid']}").json(), seen).join(timeout=10)
    assert seen == [[(0, "DOWN")]]
    # As the stats: not found for a process the caller cannot see.
    _, username = world.new_user()
    r = world.login_as(username).get(f"/v3/processes/{started['guid']}/stats/stream")
    assert (r.status_code, r.json()) == (404, cf_error("Process not found", "CF-ResourceNotFound", 10010))
