"""Tasks: create (202, RUNNING for the runner to take), read with Cloud Controller's command
visibility, list filters, cancel, metadata, roles."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, update

from ladle.db.models import AuditEvent, Task
from tests.processes.helpers import (
    CANNOT_SEE,
    MANAGE,
    NOT_AUTHORIZED,
    WRITE,
    cf_error,
    deployable_app,
    role_matrix,
    staged_droplet,
)
from tests.support.cf import ROLES, Api, World
from tests.support.matchers import ANY_TIMESTAMP

TASK_NOT_FOUND = cf_error("Task not found", "CF-ResourceNotFound", 10010)


@pytest.fixture
def app(world: World, space: dict[str, Any]) -> dict[str, Any]:
    return deployable_app(world, space, {"web": "./server.sh", "worker": "./work.sh"})


def current_droplet(world: World, app: dict[str, Any]) -> str:
    return str(world.admin.get(f"/v3/apps/{app['guid']}/droplets/current").json()["guid"])


def expected_task(base: str, app: dict[str, Any], droplet: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "guid": fields.pop("guid"),
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "sequence_id": 1,
        "name": fields.pop("name", None),
        "command": fields.pop("command", None),
        "user": "vcap",
        "state": "RUNNING",
        "memory_in_mb": 1024,
        "disk_in_mb": 1024,
        "log_rate_limit_in_bytes_per_second": -1,
        "result": {"failure_reason": None},
        "droplet_guid": droplet,
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {},
    }
    body.update(fields)
    g = body["guid"]
    body["links"] = {
        "self": {"href": f"{base}/v3/tasks/{g}"},
        "app": {"href": f"{base}/v3/apps/{app['guid']}"},
        "cancel": {"href": f"{base}/v3/tasks/{g}/actions/cancel", "method": "POST"},
        "droplet": {"href": f"{base}/v3/droplets/{droplet}"},
    }
    return body


def run_task(api: Api, app: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = api.post(f"/v3/apps/{app['guid']}/tasks", json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def set_task(world: World, guid: str, **values: Any) -> None:
    """Play the runner: take the task, or finish it."""
    with world.server.deps.db.session() as session:
        session.execute(update(Task).where(Task.guid == guid).values(**values))
        session.commit()


def test_create(world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]) -> None:
    dev = world.as_role("space_developer", org, space)
    droplet = current_droplet(world, app)
    body = {
        "command": "rake db:migrate",
        "name": "migrate",
        "memory_in_mb": 256,
        "disk_in_mb": 512,
        "log_rate_limit_in_bytes_per_second": 1024,
        "metadata": {"labels": {"kind": "migration"}, "annotations": {}},
    }
    r = dev.post(f"/v3/apps/{app['guid']}/tasks", json=body)
    assert r.status_code == 202, r.text
    task = r.json()
    assert task == expected_task(
        world.server.url,
        app,
        droplet,
        guid=task["guid"],
        name="migrate",
        command="rake db:migrate",
        memory_in_mb=256,
        disk_in_mb=512,
        log_rate_limit_in_bytes_per_second=1024,
        metadata={"labels": {"kind": "migration"}, "annotations": {}},
    )
    # The runner's work list: RUNNING and not taken by any node yet.
    with world.server.deps.db.session() as session:
        row = session.scalars(select(Task).where(Task.guid == task["guid"])).one()
        assert (row.state, row.node) == ("RUNNING", None)
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.type == "audit.app.task.create", AuditEvent.target_guid == app["guid"])
        ).all()
    assert event.data == {
        "task_guid": task["guid"],
        "request": {"name": "migrate", "memory_in_mb": 256, "command": "[PRIVATE DATA HIDDEN]"},
    }
    second = run_task(dev, app, command="echo hi")
    assert second["sequence_id"] == 2
    assert re.fullmatch(r"[0-9a-f]{8}", second["name"])
    assert (second["memory_in_mb"], second["disk_in_mb"], second["log_rate_limit_in_bytes_per_second"]) == (
        1024,
        1024,
        -1,
    )


def test_template_copies_the_process(world: World, app: dict[str, Any]) -> None:
    worker = world.admin.get(f"/v3/apps/{app['guid']}/processes/worker").json()
    scale = {"memory_in_mb": 128, "disk_in_mb": 256, "log_rate_limit_in_bytes_per_second": 2048}
    assert world.admin.post(f"/v3/processes/{worker['guid']}/actions/scale", json=scale).status_code == 202
    template = {"process": {"guid": worker["guid"]}}
    # No command of its own: the droplet's detected command for the process type.
    task = run_task(world.admin, app, template=template)
    assert (task["command"], task["memory_in_mb"], task["disk_in_mb"]) == ("./work.sh", 128, 256)
    assert task["log_rate_limit_in_bytes_per_second"] == 2048
    world.admin.patch(f"/v3/processes/{worker['guid']}", json={"command": "./work.sh --once"})
    task = run_task(world.admin, app, template=template, memory_in_mb=64)
    assert (task["command"], task["memory_in_mb"]) == ("./work.sh --once", 64)
    task = run_task(world.admin, app, template=template, command="other")
    assert task["command"] == "other"


def test_named_droplet(world: World, app: dict[str, Any]) -> None:
    other = staged_droplet(world.admin, app, {"web": "./other.sh"})
    assert run_task(world.admin, app, command="x", droplet_guid=other)["droplet_guid"] == other
    elsewhere = deployable_app(world, world.space())
    r = world.admin.post(
        f"/v3/apps/{app['guid']}/tasks", json={"command": "x", "droplet_guid": current_droplet(world, elsewhere)}
    )
    assert (r.status_code, r.json()) == (404, cf_error("Droplet not found", "CF-ResourceNotFound", 10010))


CREATE_ERRORS = [
    ({}, "Command No command or template provided"),
    ({"name": "x"}, "Command No command or template provided"),
    ({"command": "x", "disk_in_mb": 4096}, "Cannot request disk_in_mb greater than 2048"),
    ({"command": "x", "memory_in_mb": 0}, "Memory in mb must be greater than 0"),
    ({"command": "x", "memory_in_mb": "lots"}, "Memory in mb is not a number"),
    (
        {"command": "x", "log_rate_limit_in_bytes_per_second": -2},
        "Log rate limit in bytes per second must be greater than -2",
    ),
    ({"command": "x", "foo": 1}, "Unknown field(s): 'foo'"),
    (
        {"command": "x", "droplet_guid": 5},
        "Droplet guid must be a string, Droplet guid must be between 1 and 200 characters",
    ),
    (
        {"template": {"process": {}}},
        "Template process guid must be a string, Template process guid must be between 1 and 200 characters",
    ),
    ({"command": "x", "user": "root"}, "user invalid (requested user 'root' not allowed, permitted users are: 'vcap')"),
    ({"command": "x", "name": ""}, "name is invalid, name is not present"),
    ({"command": ""}, "command is not present"),
    ({"command": "x" * 4097}, "command must be shorter than 4097 characters"),
]


@pytest.mark.parametrize(("body", "detail"), CREATE_ERRORS)
def test_create_errors(world: World, app: dict[str, Any], body: dict[str, Any], detail: str) -> None:
    r = world.admin.post(f"/v3/apps/{app['guid']}/tasks", json=body)
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    assert world.admin.get(f"/v3/apps/{app['guid']}/tasks").json()["resources"] == []


def test_create_errors_that_are_not_422(world: World, space: dict[str, Any], app: dict[str, Any]) -> None:
    r = world.admin.post(f"/v3/apps/{app['guid']}/tasks", json={"template": {"process": {"guid": "nope"}}})
    assert (r.status_code, r.json()) == (
        404,
        cf_error("The process could not be found: nope", "CF-ProcessNotFound", 350003),
    )
    r = world.admin.post("/v3/apps/nope/tasks", json={"command": "x"})
    assert (r.status_code, r.json()) == (404, cf_error("App not found", "CF-ResourceNotFound", 10010))
    no_droplet = world.app(space)
    r = world.admin.post(f"/v3/apps/{no_droplet['guid']}/tasks", json={"command": "x"})
    detail = "Task must have a droplet. Specify droplet or assign current droplet to app."
    assert (r.status_code, r.json()) == (422, cf_error(detail))


def test_create_needs_the_task_creation_flag(
    world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]
) -> None:
    dev = world.as_role("space_developer", org, space)
    assert world.admin.patch("/v3/feature_flags/task_creation", json={"enabled": False}).status_code == 200
    try:
        r = dev.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "x"})
        disabled = cf_error("Feature Disabled: task_creation", "CF-FeatureDisabled", 330002)
        assert (r.status_code, r.json()) == (403, disabled)
        assert world.admin.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "x"}).status_code == 202
    finally:
        world.admin.patch("/v3/feature_flags/task_creation", json={"enabled": True})


def test_concurrent_creates_get_distinct_sequence_ids(world: World, app: dict[str, Any]) -> None:
    def create(i: int) -> int:
        r = world.admin.post(f"/v3/apps/{app['guid']}/tasks", json={"command": f"echo {i}"})
        assert r.status_code == 202, r.text
        return int(r.json()["sequence_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = sorted(pool.map(create, range(16)))
    assert ids == list(range(1, 17))


def test_command_visibility(world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]) -> None:
    task = run_task(world.admin, app, command="secret-thing")
    dev = world.as_role("space_developer", org, space)
    auditor = world.as_role("space_auditor", org, space)
    assert dev.get(f"/v3/tasks/{task['guid']}").json()["command"] == "secret-thing"
    hidden = auditor.get(f"/v3/tasks/{task['guid']}").json()
    # Absent, not redacted: the cf CLI prints "[hidden]" for a missing command.
    assert "command" not in hidden and hidden["name"] == task["name"]
    assert dev.get(f"/v3/apps/{app['guid']}/tasks").json()["resources"][0]["command"] == "secret-thing"
    assert "command" not in auditor.get(f"/v3/apps/{app['guid']}/tasks").json()["resources"][0]
    listed = world.admin.get("/v3/tasks", params={"guids": task["guid"]}).json()["resources"]
    assert [("command" in t, t["guid"]) for t in listed] == [(False, task["guid"])]


def test_list_filters(world: World, app: dict[str, Any]) -> None:
    first = run_task(world.admin, app, command="a", name="one")
    second = run_task(world.admin, app, command="b", name="two")
    set_task(world, second["guid"], state="SUCCEEDED", node="n1")
    nested = f"/v3/apps/{app['guid']}/tasks"

    def guids(path: str, **params: str) -> list[str]:
        r = world.admin.get(path, params=params)
        assert r.status_code == 200, r.text
        return [t["guid"] for t in r.json()["resources"]]

    assert guids(nested) == [first["guid"], second["guid"]]
    assert guids(nested, names="two") == [second["guid"]]
    assert guids(nested, states="RUNNING") == [first["guid"]]
    assert guids(nested, sequence_ids="2,3") == [second["guid"]]
    assert guids(nested, order_by="-created_at", per_page="1") in ([second["guid"]], [first["guid"]])
    assert guids("/v3/tasks", app_guids=app["guid"], states="SUCCEEDED") == [second["guid"]]
    assert guids("/v3/tasks", space_guids=app["relationships"]["space"]["data"]["guid"], names="one") == [first["guid"]]
    r = world.admin.get("/v3/tasks", params={"sequence_ids": "1"})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        400,
        "The query parameter is invalid: Unknown query parameter(s): 'sequence_ids'",
    )
    r = world.admin.get(nested, params={"app_guids": "x", "space_guids": "y"})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        400,
        "The query parameter is invalid: Unknown query parameter(s): 'space_guids', 'app_guids'",
    )


def test_cancel(world: World, app: dict[str, Any]) -> None:
    # Not taken by a runner yet: nothing to stop, so it fails at once.
    untaken = run_task(world.admin, app, command="sleep 100")
    r = world.admin.request("PUT", f"/v3/tasks/{untaken['guid']}/cancel")
    assert r.status_code == 202, r.text
    assert (r.json()["state"], r.json()["result"]) == ("FAILED", {"failure_reason": "task was cancelled"})
    # Taken: the runner stops it and records the end.
    taken = run_task(world.admin, app, command="sleep 100")
    set_task(world, taken["guid"], node="node-1")
    r = world.admin.post(f"/v3/tasks/{taken['guid']}/actions/cancel")
    assert (r.status_code, r.json()["state"], r.json()["command"]) == (202, "CANCELING", "sleep 100")
    assert world.admin.post(f"/v3/tasks/{taken['guid']}/actions/cancel").json()["state"] == "CANCELING"
    with world.server.deps.db.session() as session:
        cancels = session.scalars(
            select(AuditEvent.data)
            .where(AuditEvent.type == "audit.app.task.cancel", AuditEvent.target_guid == app["guid"])
            .order_by(AuditEvent.id)
        ).all()
    assert [c["task_guid"] for c in cancels] == [untaken["guid"], taken["guid"], taken["guid"]]
    for state in ("SUCCEEDED", "FAILED"):
        set_task(world, taken["guid"], state=state)
        r = world.admin.post(f"/v3/tasks/{taken['guid']}/actions/cancel")
        assert (r.status_code, r.json()) == (422, cf_error(f"Task state is {state} and therefore cannot be canceled"))
    r = world.admin.post("/v3/tasks/nope/actions/cancel")
    assert (r.status_code, r.json()) == (404, TASK_NOT_FOUND)


def test_update_metadata(world: World, app: dict[str, Any]) -> None:
    task = run_task(world.admin, app, command="x", metadata={"labels": {"a": "1"}})
    body = {"metadata": {"labels": {"a": None, "b": "2"}, "annotations": {"c": "3"}}}
    r = world.admin.patch(f"/v3/tasks/{task['guid']}", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == {"labels": {"b": "2"}, "annotations": {"c": "3"}}
    assert world.admin.get("/v3/tasks", params={"label_selector": "b=2"}).json()["resources"][0]["guid"] == task["guid"]
    r = world.admin.patch(f"/v3/tasks/{task['guid']}", json={"name": "x"})
    assert (r.status_code, r.json()) == (422, cf_error("Unknown field(s): 'name'"))


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[str, Any]:
    return role_matrix(world)


@pytest.mark.parametrize("role", ROLES)
def test_roles(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    app = matrix["app"]
    task = run_task(world.admin, app, command="x")
    created = api.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "x"})
    shown = api.get(f"/v3/tasks/{task['guid']}")
    patched = api.patch(f"/v3/tasks/{task['guid']}", json={"metadata": {}})
    cancelled = api.post(f"/v3/tasks/{task['guid']}/actions/cancel")
    if role in CANNOT_SEE:
        app_not_found = cf_error("App not found", "CF-ResourceNotFound", 10010)
        assert (created.status_code, created.json()) == (404, app_not_found)
        for r in (shown, patched, cancelled):
            assert (r.status_code, r.json()) == (404, TASK_NOT_FOUND)
        return
    assert shown.status_code == 200
    write, manage = role in WRITE, role in MANAGE
    for r, allowed, ok in ((created, write, 202), (patched, write, 200), (cancelled, manage, 202)):
        if allowed:
            assert r.status_code == ok, r.text
        else:
            assert (r.status_code, r.json()) == (403, NOT_AUTHORIZED)
