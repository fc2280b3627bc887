"""Deployments: a stopped app starts at once, a started one gets an ACTIVE rollout onto a new web
process version for the runner; superseding, cancelling, lists, stats during a rollout, roles."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from ladle.db.models import AuditEvent, Deployment, Label
from tests.processes.helpers import (
    CANNOT_SEE,
    MANAGE,
    WRITE,
    Between,
    add_instance,
    cf_error,
    deployable_app,
    role_matrix,
    staged_droplet,
)
from tests.support.cf import ROLES, Api, World
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP

UNABLE_TO_USE_APP = "Unable to use app. Ensure that the app exists and you have access to it."
NOT_FOUND = cf_error("Deployment not found", "CF-ResourceNotFound", 10010)


def current_droplet(world: World, app: dict[str, Any]) -> str:
    return str(world.admin.get(f"/v3/apps/{app['guid']}/droplets/current").json()["guid"])


def web(world: World, app: dict[str, Any]) -> dict[str, Any]:
    return dict(world.admin.get(f"/v3/processes/{app['guid']}").json())


def deploy(api: Api, app: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = api.post("/v3/deployments", json={"relationships": {"app": {"data": {"guid": app["guid"]}}}, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def stored(world: World, guid: str) -> Deployment:
    with world.server.deps.db.session() as session:
        return session.scalars(select(Deployment).where(Deployment.guid == guid)).one()


def finalize(world: World, guid: str) -> None:
    """Play the runner at the end of a rollout."""
    with world.server.deps.db.session() as session:
        session.execute(
            update(Deployment).where(Deployment.guid == guid).values(status_value="FINALIZED", status_reason="DEPLOYED")
        )
        session.commit()


def expected(base: str, app: dict[str, Any], guid: str, **fields: Any) -> dict[str, Any]:
    links: dict[str, Any] = {
        "self": {"href": f"{base}/v3/deployments/{guid}"},
        "app": {"href": f"{base}/v3/apps/{app['guid']}"},
    }
    if fields.get("status", {}).get("value") == "ACTIVE":
        links["cancel"] = {"href": f"{base}/v3/deployments/{guid}/actions/cancel", "method": "POST"}
    body: dict[str, Any] = {
        "guid": guid,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "status": {},
        "strategy": "rolling",
        "options": {"max_in_flight": 1},
        "droplet": {},
        "previous_droplet": {},
        "new_processes": [],
        "revision": None,
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": links,
    }
    body.update(fields)
    return body


def status(value: str, reason: str) -> dict[str, Any]:
    return {
        "value": value,
        "reason": reason,
        "details": {"last_successful_healthcheck": None, "last_status_change": ANY_TIMESTAMP},
    }


@pytest.fixture
def app(world: World, space: dict[str, Any]) -> dict[str, Any]:
    return deployable_app(world, space)


def test_stopped_app_is_started_at_once(
    world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]
) -> None:
    dev = world.as_role("space_developer", org, space)
    before, old = web(world, app), current_droplet(world, app)
    new = staged_droplet(world.admin, app)
    d = deploy(dev, app, droplet={"guid": new})
    assert d == expected(
        world.server.url,
        app,
        d["guid"],
        status=status("FINALIZED", "DEPLOYED"),
        droplet={"guid": new},
        previous_droplet={"guid": old},
    )
    assert world.admin.get(f"/v3/apps/{app['guid']}").json()["state"] == "STARTED"
    assert current_droplet(world, app) == new
    assert web(world, app)["version"] != before["version"]
    with world.server.deps.db.session() as session:
        types = session.scalars(
            select(AuditEvent.type).where(AuditEvent.target_guid == app["guid"]).order_by(AuditEvent.id)
        ).all()
        [event] = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.type == "audit.app.deployment.create")
            .where(AuditEvent.target_guid == app["guid"])
        ).all()
    assert types[-2:] == ["audit.app.start", "audit.app.deployment.create"]
    assert event.data == {
        "deployment_guid": d["guid"],
        "droplet_guid": new,
        "type": None,
        "revision_guid": None,
        "request": {"relationships": {"app": {"data": {"guid": app["guid"]}}}, "droplet": {"guid": new}},
        "strategy": "rolling",
    }


def test_started_app_gets_a_rollout_for_the_runner(world: World, app: dict[str, Any]) -> None:
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    before, old = web(world, app), current_droplet(world, app)
    new = staged_droplet(world.admin, app)
    d = deploy(
        world.admin, app, droplet={"guid": new}, options={"max_in_flight": 2, "web_instances": 3, "memory_in_mb": 256}
    )
    assert d == expected(
        world.server.url,
        app,
        d["guid"],
        status=status("ACTIVE", "DEPLOYING"),
        options={"max_in_flight": 2, "web_instances": 3, "memory_in_mb": 256},
        droplet={"guid": new},
        previous_droplet={"guid": old},
        new_processes=[{"guid": app["guid"], "type": "web"}],
    )
    after = web(world, app)
    assert (after["instances"], after["memory_in_mb"]) == (3, 256)
    # What the runner reads: roll the web process's instances onto this version.
    row = stored(world, d["guid"])
    assert (row.process_guid, row.process_version, row.max_in_flight) == (app["guid"], after["version"], 2)
    assert after["version"] != before["version"]
    # A second deployment takes over from the first.
    second = deploy(world.admin, app)
    assert second["droplet"] == {"guid": new}
    first = world.admin.get(f"/v3/deployments/{d['guid']}").json()
    assert (first["status"]["value"], first["status"]["reason"]) == ("FINALIZED", "SUPERSEDED")
    assert "cancel" not in first["links"]


def test_web_is_the_deployments_until_it_is_done(world: World, space: dict[str, Any]) -> None:
    app = deployable_app(world, space, {"web": "./server.sh", "worker": "./work.sh"})
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    d = deploy(world.admin, app)
    in_flight = [
        (world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2}), "scale"),
        (world.admin.patch(f"/v3/processes/{app['guid']}", json={"command": "x"}), "update"),
    ]
    for r, verb in in_flight:
        assert (r.status_code, r.json()) == (
            422,
            cf_error(f"Cannot {verb} this process while a deployment is in flight."),
        )
    worker = f"/v3/apps/{app['guid']}/processes/worker/actions/scale"
    assert world.admin.post(worker, json={"instances": 1}).status_code == 202
    r = world.admin.patch(
        f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": current_droplet(world, app)}}
    )
    detail = (
        "Unable to assign current droplet while the app has a deployment in progress. "
        "Wait for the deployment to complete or cancel it."
    )
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    finalize(world, d["guid"])
    assert world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2}).status_code == 202


CREATE_ERRORS = [
    ({}, UNABLE_TO_USE_APP),
    ({"relationships": {"app": {"data": {"guid": "nope"}}}}, UNABLE_TO_USE_APP),
    ({"strategy": "canary"}, "Strategy 'canary' is not a supported deployment strategy"),
    ({"strategy": "blue-green"}, "Strategy 'blue-green' is not a supported deployment strategy"),
    ({"options": "fast"}, "Options must be an object"),
    ({"options": {"speed": 2}}, "Options has unsupported key(s): speed"),
    ({"options": {"max_in_flight": 0}}, "Max in flight must be an integer greater than 0"),
    ({"options": {"web_instances": -1}}, "Web instances must be greater than or equal to 0"),
    ({"options": {"memory_in_mb": 0}}, "Memory in mb must be greater than 0"),
    ({"foo": 1}, "Unknown field(s): 'foo'"),
    ({"revision": {"guid": "r"}}, "Cannot create deployment from a revision for an app without revisions enabled"),
    ({"revision": {"guid": "r"}, "droplet": {"guid": "d"}}, "Droplet Cannot set both fields 'droplet' and 'revision'"),
    (
        {"droplet": {"guid": "nope"}},
        "Unable to assign current droplet. Ensure the droplet exists and belongs to this app.",
    ),
    (
        {"options": {"disk_in_mb": 4096}},
        "disk_quota too much disk requested (requested 4096 MB - must be less than 2048 MB)",
    ),
]


@pytest.mark.parametrize(("body", "detail"), CREATE_ERRORS)
def test_create_errors(world: World, app: dict[str, Any], body: dict[str, Any], detail: str) -> None:
    if "relationships" not in body and body:
        body = {"relationships": {"app": {"data": {"guid": app["guid"]}}}, **body}
    before = web(world, app)
    r = world.admin.post("/v3/deployments", json=body)
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    assert web(world, app) == before
    assert world.admin.get("/v3/deployments", params={"app_guids": app["guid"]}).json()["resources"] == []


def test_app_without_a_droplet(world: World, space: dict[str, Any]) -> None:
    bare = world.app(space)
    r = world.admin.post("/v3/deployments", json={"relationships": {"app": {"data": {"guid": bare["guid"]}}}})
    detail = "Invalid droplet. Please specify a droplet in the request or set a current droplet for the app."
    assert (r.status_code, r.json()) == (422, cf_error(detail))


def test_cancel_before_the_runner_started_anything(world: World, app: dict[str, Any]) -> None:
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    old_web, old_droplet = web(world, app), current_droplet(world, app)
    add_instance(world, old_web, 0, age=60)
    d = deploy(world.admin, app, droplet={"guid": staged_droplet(world.admin, app)})
    r = world.admin.post(f"/v3/deployments/{d['guid']}/actions/cancel")
    assert (r.status_code, r.content) == (200, b"")
    shown = world.admin.get(f"/v3/deployments/{d['guid']}").json()
    assert (shown["status"]["value"], shown["status"]["reason"]) == ("FINALIZED", "CANCELED")
    # Back where it was: the previous droplet, and the version its instance still runs.
    assert current_droplet(world, app) == old_droplet
    assert web(world, app)["version"] == old_web["version"]
    r = world.admin.post(f"/v3/deployments/{d['guid']}/actions/cancel")
    detail = "Cannot cancel a deployment with status: FINALIZED and reason: CANCELED"
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    with world.server.deps.db.session() as session:
        [event] = session.scalars(
            select(AuditEvent.data).where(
                AuditEvent.type == "audit.app.deployment.cancel", AuditEvent.target_guid == app["guid"]
            )
        ).all()
    assert event == {"deployment_guid": d["guid"], "droplet_guid": d["droplet"]["guid"]}


def test_cancel_during_the_rollout_rolls_back(world: World, app: dict[str, Any]) -> None:
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    old_droplet = current_droplet(world, app)
    d = deploy(world.admin, app, droplet={"guid": staged_droplet(world.admin, app)})
    rolled = web(world, app)
    add_instance(world, rolled, 0, state="STARTING")
    assert world.admin.post(f"/v3/deployments/{d['guid']}/actions/cancel").status_code == 200
    shown = world.admin.get(f"/v3/deployments/{d['guid']}").json()
    assert (shown["status"]["value"], shown["status"]["reason"]) == ("ACTIVE", "CANCELING")
    assert current_droplet(world, app) == old_droplet
    # The runner rolls onto a fresh version running the previous droplet, then finalizes.
    back = web(world, app)
    assert back["version"] != rolled["version"]
    assert stored(world, d["guid"]).process_version == back["version"]


def test_stats_during_a_rollout(world: World, app: dict[str, Any]) -> None:
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2})
    old = web(world, app)
    old_rows = [add_instance(world, old, i, age=300) for i in range(2)]
    d = deploy(world.admin, app)
    new_row = add_instance(world, web(world, app), 0, state="STARTING", age=2)
    # Index 0: the new instance replacing the old one (newest since wins); index 1: still old.
    resources = world.admin.get(f"/v3/processes/{app['guid']}/stats").json()["resources"]
    assert [(e["index"], e["instance_guid"], e["state"]) for e in resources] == [
        (0, new_row.guid, "STARTING"),
        (1, old_rows[1].guid, "RUNNING"),
    ]
    assert resources[1]["uptime"] == Between(300, 305)
    finalize(world, d["guid"])
    # Rollout over: instances of the older version are on their way out.
    resources = world.admin.get(f"/v3/processes/{app['guid']}/stats").json()["resources"]
    assert [(e["index"], e["state"]) for e in resources] == [(0, "STARTING"), (1, "DOWN")]


def test_lists_and_metadata(world: World, space: dict[str, Any]) -> None:
    first_app = deployable_app(world, space)
    world.admin.post(f"/v3/apps/{first_app['guid']}/actions/start")
    superseded = deploy(world.admin, first_app)
    active = deploy(world.admin, first_app, metadata={"labels": {"env": "prod"}})
    other = deploy(world.admin, deployable_app(world, space))

    def guids(**params: str) -> list[str]:
        r = world.admin.get("/v3/deployments", params=params)
        assert r.status_code == 200, r.text
        return [d["guid"] for d in r.json()["resources"]]

    assert guids(app_guids=first_app["guid"]) == [superseded["guid"], active["guid"]]
    # What the cf CLI v8 asks after a push.
    latest = guids(app_guids=first_app["guid"], status_values="ACTIVE", order_by="-created_at", page="1", per_page="1")
    assert latest == [active["guid"]]
    assert guids(app_guids=first_app["guid"], status_reasons="SUPERSEDED") == [superseded["guid"]]
    assert guids(guids=f"{other['guid']},{active['guid']}", states="DEPLOYED") == [other["guid"]]
    assert guids(label_selector="env=prod") == [active["guid"]]
    r = world.admin.get("/v3/deployments", params={"names": "x"})
    assert r.status_code == 400
    r = world.admin.patch(f"/v3/deployments/{other['guid']}", json={"metadata": {"annotations": {"why": "test"}}})
    assert (r.status_code, r.json()["metadata"]) == (200, {"labels": {}, "annotations": {"why": "test"}})
    assert world.admin.get("/v3/deployments/nope").json() == NOT_FOUND


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[str, Any]:
    return role_matrix(world)


@pytest.mark.parametrize("role", ROLES)
def test_roles(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    app = matrix["app"]
    existing = deploy(world.admin, app)
    manage = role in MANAGE
    created = api.post("/v3/deployments", json={"relationships": {"app": {"data": {"guid": app["guid"]}}}})
    if manage:
        assert (created.status_code, created.json()["guid"]) == (201, ANY_GUID)
    else:
        assert (created.status_code, created.json()) == (422, cf_error(UNABLE_TO_USE_APP))
    shown = api.get(f"/v3/deployments/{existing['guid']}")
    patched = api.patch(f"/v3/deployments/{existing['guid']}", json={"metadata": {}})
    cancelled = api.post(f"/v3/deployments/{existing['guid']}/actions/cancel")
    if role in CANNOT_SEE:
        for r in (shown, patched):
            assert (r.status_code, r.json()) == (404, NOT_FOUND)
    else:
        assert shown.status_code == 200
        if role in WRITE:
            assert patched.status_code == 200
        else:
            assert patched.status_code == 403
    if manage:
        # The caller's own deployment superseded it a moment ago.
        detail = "Cannot cancel a deployment with status: FINALIZED and reason: SUPERSEDED"
        assert (cancelled.status_code, cancelled.json()) == (422, cf_error(detail))
    else:
        assert (cancelled.status_code, cancelled.json()) == (404, NOT_FOUND)


def test_deleting_the_app_deletes_its_tasks_and_deployments(world: World, app: dict[str, Any]) -> None:
    world.admin.post(f"/v3/apps/{app['guid']}/actions/start")
    d = deploy(world.admin, app, metadata={"labels": {"gone": "soon"}})
    task = world.admin.post(
        f"/v3/apps/{app['guid']}/tasks", json={"command": "x", "metadata": {"labels": {"gone": "soon"}}}
    )
    add_instance(world, web(world, app), 0)
    r = world.admin.delete(f"/v3/apps/{app['guid']}")
    assert world.admin.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/deployments/{d['guid']}").json() == NOT_FOUND
    assert world.admin.get(f"/v3/tasks/{task.json()['guid']}").status_code == 404
    with world.server.deps.db.session() as session:
        labels = session.scalars(
            select(Label.resource_guid).where(Label.resource_guid.in_([d["guid"], task.json()["guid"]]))
        )
        assert labels.all() == []
