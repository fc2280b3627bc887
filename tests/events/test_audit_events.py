"""``/v3/audit_events`` as ``cf events`` reads it: what actions record, filters, and who sees what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.processes.helpers import deployable_app
from tests.support.cf import World

ISO = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def _events(api: Any, **params: str) -> list[dict[str, Any]]:
    r = api.get("/v3/audit_events", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["resources"])


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_cf_events_sees_an_apps_history_newest_first(world: World) -> None:
    space = world.space()
    app = world.app(space, environment_variables={"SECRET": "hunter2"})
    world.admin.patch(f"/v3/apps/{app['guid']}", json={"name": app["name"] + "-renamed"})
    # What `cf events APP` sends: one page, newest first, of the app's events.
    events = _events(world.admin, target_guids=app["guid"], order_by="-created_at")
    assert _types(events)[:2] == ["audit.app.update", "audit.app.create"] or _types(events)[-2:] == [
        "audit.app.update",
        "audit.app.create",
    ]
    created = next(e for e in events if e["type"] == "audit.app.create")
    # The keys and JSON types the CLI decodes (ccv3/event.go).
    assert list(created) == [
        "guid",
        "created_at",
        "updated_at",
        "type",
        "actor",
        "target",
        "data",
        "space",
        "organization",
        "links",
    ]
    assert ISO.match(created["created_at"]) and created["updated_at"] == created["created_at"]
    assert created["actor"]["type"] == "user" and isinstance(created["actor"]["name"], str)
    assert created["target"] == {"guid": app["guid"], "type": "app", "name": app["name"]}
    assert created["space"] == {"guid": space["guid"]}
    assert created["organization"] == {"guid": space["relationships"]["organization"]["data"]["guid"]}
    # Environment values never reach an event.
    assert created["data"]["request"]["environment_variables"] == "[PRIVATE DATA HIDDEN]"
    assert "hunter2" not in str(events)
    one = world.admin.get(f"/v3/audit_events/{created['guid']}")
    assert one.status_code == 200 and one.json() == created


def test_app_lifecycle_actions_record_cf_event_types(world: World) -> None:
    space = world.space()
    app = deployable_app(world, space)
    g = app["guid"]
    assert world.admin.post(f"/v3/apps/{g}/actions/start").status_code == 200
    r = world.admin.post(f"/v3/apps/{g}/processes/web/actions/scale", json={"instances": 2})
    assert r.status_code == 202, r.text
    assert world.admin.post(f"/v3/apps/{g}/actions/stop").status_code == 200
    package = world.admin.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": g}}}}
    ).json()
    types = _types(_events(world.admin, target_guids=g))
    for expected in (
        "audit.app.create",
        "audit.app.droplet.mapped",
        "audit.app.start",
        "audit.app.process.scale",
        "audit.app.stop",
        "audit.app.package.create",
    ):
        assert expected in types, (expected, types)
    assert types.index("audit.app.start") < types.index("audit.app.process.scale") < types.index("audit.app.stop")
    pkg_event = _events(world.admin, target_guids=g, types="audit.app.package.create")[0]
    assert pkg_event["data"]["package_guid"] == package["guid"]

    r = world.admin.delete(f"/v3/apps/{g}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    deleted = _events(world.admin, target_guids=g, types="audit.app.delete-request")
    assert len(deleted) == 1 and deleted[0]["data"] == {"request": {"recursive": True}}


def test_space_and_org_create_and_delete_are_recorded(world: World) -> None:
    org = world.org()
    space = world.space(org)
    created = _events(world.admin, types="audit.space.create,audit.organization.create", organization_guids=org["guid"])
    assert {(e["type"], e["target"]["guid"]) for e in created} == {
        ("audit.organization.create", org["guid"]),
        ("audit.space.create", space["guid"]),
    }
    org_event = next(e for e in created if e["type"] == "audit.organization.create")
    assert org_event["space"] is None and org_event["target"]["type"] == "organization"
    r = world.admin.delete(f"/v3/organizations/{org['guid']}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert _types(_events(world.admin, target_guids=org["guid"], types="audit.organization.delete-request")) == [
        "audit.organization.delete-request"
    ]


def test_filters_by_type_space_and_created_at_operators(world: World) -> None:
    space = world.space()
    other = world.space()
    world.app(space)
    world.app(other)
    mine = _events(world.admin, space_guids=space["guid"], types="audit.app.create")
    assert len(mine) == 1 and mine[0]["space"]["guid"] == space["guid"]
    at = datetime.strptime(mine[0]["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    later = (at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    only = {"space_guids": space["guid"], "types": "audit.app.create"}
    assert _events(world.admin, **only, **{"created_ats[gte]": mine[0]["created_at"]})
    assert _events(world.admin, **only, **{"created_ats[lt]": later})
    assert _events(world.admin, **only, created_ats=mine[0]["created_at"])
    assert not _events(world.admin, **only, **{"created_ats[lt]": mine[0]["created_at"]})
    assert not _events(world.admin, **only, **{"created_ats[lte]": earlier})
    assert not _events(world.admin, **only, **{"created_ats[gt]": mine[0]["created_at"]})
    excluded = _events(world.admin, space_guids=space["guid"], **{"target_guids[not]": mine[0]["target"]["guid"]})
    assert mine[0]["guid"] not in {e["guid"] for e in excluded}
    r = world.admin.get("/v3/audit_events", params={"colour": "red"})
    assert r.status_code == 400 and r.json()["errors"][0]["title"] == "CF-BadQueryParameter"
    r = world.admin.get("/v3/audit_events", params={"created_ats[gt]": "yesterday"})
    assert r.status_code == 400


@pytest.mark.parametrize("role", ["space_auditor", "space_developer", "space_supporter", "org_auditor"])
def test_an_auditor_sees_events_of_their_space_and_nothing_else(world: World, role: str) -> None:
    org = world.org()
    space = world.space(org)
    elsewhere = world.space()
    mine = world.app(space)
    theirs = world.app(elsewhere)
    api = world.as_role(role, org, space)
    seen = _events(api, per_page="5000")
    assert {e["target"]["guid"] for e in seen if e["type"] == "audit.app.create"} == {mine["guid"]}
    assert all(e["organization"]["guid"] == org["guid"] for e in seen)
    other_event = _events(world.admin, target_guids=theirs["guid"])[0]
    r = api.get(f"/v3/audit_events/{other_event['guid']}")
    assert r.status_code == 404 and r.json()["errors"][0]["detail"] == "Event not found"
    # Filtering for the other space does not reach it either.
    assert _events(api, space_guids=elsewhere["guid"]) == []


@pytest.mark.parametrize("role", ["space_manager", "org_manager", "no_role"])
def test_managers_and_strangers_see_no_events(world: World, role: str) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    api = world.as_role(role, org, space)
    assert _events(api, target_guids=app["guid"]) == []


def test_route_create_map_unmap_delete_are_recorded(world: World) -> None:
    space = world.space()
    app = world.app(space)
    domain = world.admin.get("/v3/domains").json()["resources"][0]
    body = {
        "host": app["name"],
        "relationships": {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}},
    }
    route = world.admin.post("/v3/routes", json=body).json()
    r = world.admin.post(
        f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
    )
    assert r.status_code == 200, r.text
    destination = r.json()["destinations"][0]
    assert world.admin.delete(f"/v3/routes/{route['guid']}/destinations/{destination['guid']}").status_code == 204
    r = world.admin.delete(f"/v3/routes/{route['guid']}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    route_events = _types(_events(world.admin, target_guids=route["guid"]))
    assert route_events == ["audit.route.create", "audit.route.delete-request"]
    app_events = _events(world.admin, target_guids=app["guid"], types="audit.app.map-route,audit.app.unmap-route")
    assert _types(app_events) == ["audit.app.map-route", "audit.app.unmap-route"]
    assert app_events[0]["data"]["route_guid"] == route["guid"]
    assert app_events[0]["data"]["destination_guid"] == destination["guid"]
