"""``/v3/app_usage_events`` as billing tools read it: start, scale, stop, delete, tasks, buildpacks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.processes.helpers import deployable_app
from tests.support.cf import World


def _all_after(world: World, after: str | None) -> list[dict[str, Any]]:
    """Page through the events after ``after`` as a metering tool polls them."""
    params: dict[str, str] = {"per_page": "5000", "order_by": "created_at"}
    if after:
        params["after_guid"] = after
    r = world.admin.get("/v3/app_usage_events", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["resources"])


def _mark(world: World) -> str | None:
    latest = world.admin.get("/v3/app_usage_events", params={"order_by": "-created_at", "per_page": "1"}).json()
    return latest["resources"][0]["guid"] if latest["resources"] else None


def test_start_scale_stop_delete_record_usage(world: World) -> None:
    space = world.space()
    app = deployable_app(world, space)
    g = app["guid"]
    mark = _mark(world)
    assert world.admin.post(f"/v3/apps/{g}/actions/start").status_code == 200
    assert world.admin.post(f"/v3/apps/{g}/processes/web/actions/scale", json={"instances": 3}).status_code == 202
    assert world.admin.post(f"/v3/apps/{g}/actions/stop").status_code == 200
    assert world.admin.post(f"/v3/apps/{g}/actions/start").status_code == 200
    assert world.admin.post(f"/v3/apps/{g}/actions/restart").status_code == 200
    r = world.admin.delete(f"/v3/apps/{g}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    mine = [e for e in _all_after(world, mark) if e["app"]["guid"] == g]
    assert [(e["state"]["current"], e["state"]["previous"]) for e in mine] == [
        ("STARTED", "STOPPED"),
        ("STARTED", "STARTED"),
        ("STOPPED", "STARTED"),
        ("STARTED", "STOPPED"),
        ("STOPPED", "STARTED"),  # a restart stops, then starts
        ("STARTED", "STOPPED"),
        ("STOPPED", "STARTED"),  # deleting a started app stops it
    ]
    scaled = mine[1]
    assert scaled["instance_count"] == {"current": 3, "previous": 1}
    assert scaled["memory_in_mb_per_instance"] == {"current": 1024, "previous": 1024}
    assert scaled["app"] == {"guid": g, "name": app["name"]}
    assert scaled["process"]["type"] == "web" and isinstance(scaled["process"]["guid"], str)
    assert scaled["space"] == {"guid": space["guid"], "name": space["name"]}
    assert scaled["organization"] == {"guid": space["relationships"]["organization"]["data"]["guid"]}
    assert scaled["task"] == {"guid": None, "name": None}
    assert list(scaled) == [
        "guid",
        "created_at",
        "updated_at",
        "state",
        "app",
        "process",
        "space",
        "organization",
        "buildpack",
        "task",
        "memory_in_mb_per_instance",
        "instance_count",
        "links",
    ]
    one = world.admin.get(f"/v3/app_usage_events/{scaled['guid']}")
    assert one.status_code == 200 and one.json() == scaled
    # after_guid: strictly after that event.
    assert [e["guid"] for e in _all_after(world, scaled["guid"]) if e["app"]["guid"] == g] == [
        e["guid"] for e in mine[2:]
    ]
    assert mine[3]["instance_count"] == {"current": 3, "previous": 3}


def test_tasks_record_started_and_stopped(world: World) -> None:
    app = deployable_app(world, world.space())
    g = app["guid"]
    assert world.admin.post(f"/v3/apps/{g}/actions/start").status_code == 200
    mark = _mark(world)
    r = world.admin.post(f"/v3/apps/{g}/tasks", json={"command": "sleep 100", "name": "migrate", "memory_in_mb": 64})
    assert r.status_code == 202, r.text
    task = r.json()
    # No runner on this server: the task is not taken, so cancelling ends it at once.
    r = world.admin.post(f"/v3/tasks/{task['guid']}/actions/cancel")
    assert r.status_code == 202, r.text
    events = [e for e in _all_after(world, mark) if e["task"]["guid"] == task["guid"]]
    assert [e["state"]["current"] for e in events] == ["TASK_STARTED", "TASK_STOPPED"]
    assert events[0]["task"] == {"guid": task["guid"], "name": "migrate"}
    assert events[0]["memory_in_mb_per_instance"]["current"] == 64
    assert events[0]["process"] == {"guid": None, "type": None}


def test_only_global_readers_see_usage(world: World) -> None:
    org = world.org()
    space = world.space(org)
    for role in ("admin_read_only", "global_auditor"):
        assert world.as_role(role, org, space).get("/v3/app_usage_events").status_code == 200
    for role in ("space_developer", "org_manager"):
        r = world.as_role(role, org, space).get("/v3/app_usage_events")
        assert r.status_code == 403 and r.json()["errors"][0]["title"] == "CF-NotAuthorized"


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"after_guid": "nope"}, "After guid filter must be a valid app usage event guid."),
        ({"after_guid": "a,b"}, "After guid filter accepts only one guid"),
        ({"order_by": "updated_at"}, "Order by can only be: 'created_at'"),
        ({"updated_ats": "2020-01-01T00:00:00Z"}, "Filtering by 'updated_ats' is not allowed on this resource."),
    ],
)
def test_bad_queries(world: World, params: dict[str, str], detail: str) -> None:
    r = world.admin.get("/v3/app_usage_events", params=params)
    assert r.status_code == 400
    assert r.json()["errors"][0]["detail"] == f"The query parameter is invalid: {detail}"
