"""``PATCH`` and ``actions/scale`` of processes, flat and app-nested, with Cloud Controller's errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ladle.db.models import AuditEvent
from tests.processes.helpers import cf_error, deployable_app, expected_process
from tests.support.cf import World
from tests.support.matchers import ANY_TIMESTAMP


def events(world: World, event_type: str, target_guid: str) -> list[AuditEvent]:
    with world.server.deps.db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.type == event_type, AuditEvent.target_guid == target_guid)
                .order_by(AuditEvent.id)
            )
        )


@pytest.fixture
def app(world: World, space: dict[str, Any]) -> dict[str, Any]:
    return deployable_app(world, space, {"web": "./server.sh", "worker": "./work.sh"})


def web(world: World, app: dict[str, Any]) -> dict[str, Any]:
    return dict(world.admin.get(f"/v3/processes/{app['guid']}").json())


def test_update_every_field(world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]) -> None:
    dev = world.as_role("space_developer", org, space)
    before = web(world, app)
    body = {
        "command": "./server.sh --fast",
        "user": "vcap",
        "health_check": {
            "type": "http",
            "data": {"timeout": 90, "invocation_timeout": 2, "interval": 5, "endpoint": "/health"},
        },
        "readiness_health_check": {
            "type": "http",
            "data": {"invocation_timeout": 3, "interval": 10, "endpoint": "/ready"},
        },
        "metadata": {"labels": {"tier": "front"}, "annotations": {"note": "hi"}},
    }
    r = dev.patch(f"/v3/processes/{app['guid']}", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == expected_process(
        world.server.url,
        app,
        before,
        updated_at=ANY_TIMESTAMP,
        command="./server.sh --fast",
        health_check={
            "type": "http",
            "data": {"timeout": 90, "invocation_timeout": 2, "interval": 5, "endpoint": "/health"},
        },
        readiness_health_check={
            "type": "http",
            "data": {"invocation_timeout": 3, "interval": 10, "endpoint": "/ready"},
        },
        metadata={"labels": {"tier": "front"}, "annotations": {"note": "hi"}},
    )
    # Like Cloud Controller, an update does not replace running instances: same version.
    assert r.json()["version"] == before["version"]
    assert web(world, app) == r.json()
    [event] = events(world, "audit.app.process.update", app["guid"])
    assert event.data == {
        "process_guid": app["guid"],
        "process_type": "web",
        "request": {**body, "command": "[PRIVATE DATA HIDDEN]"},
    }
    assert (event.actor_guid, event.actor_type, event.target_type, event.target_name) == (
        dev.user_guid,
        "user",
        "app",
        app["name"],
    )
    assert (event.space_guid, event.organization_guid) == (space["guid"], org["guid"])


def test_update_nested_resets_command_and_clears_endpoint(world: World, app: dict[str, Any]) -> None:
    path = f"/v3/apps/{app['guid']}/processes/web"
    set_up = {"command": "custom", "health_check": {"type": "http", "data": {"endpoint": "/up"}}}
    assert world.admin.patch(path, json=set_up).status_code == 200
    r = world.admin.patch(path, json={"command": None, "health_check": {"type": "port"}})
    assert r.status_code == 200, r.text
    # A null command falls back to what the droplet detected; a non-http check has no endpoint.
    assert r.json()["command"] == "./server.sh"
    assert r.json()["health_check"] == {
        "type": "port",
        "data": {"timeout": None, "invocation_timeout": None, "interval": None},
    }


def test_update_of_a_missing_type_or_process(world: World, app: dict[str, Any]) -> None:
    r = world.admin.patch(f"/v3/apps/{app['guid']}/processes/nope", json={})
    assert (r.status_code, r.json()) == (404, cf_error("Process not found", "CF-ResourceNotFound", 10010))
    r = world.admin.patch("/v3/processes/no-such-guid", json={})
    assert (r.status_code, r.json()) == (404, cf_error("Process not found", "CF-ResourceNotFound", 10010))
    r = world.admin.patch("/v3/apps/no-such-app/processes/web", json={})
    assert (r.status_code, r.json()) == (404, cf_error("App not found", "CF-ResourceNotFound", 10010))


UPDATE_ERRORS = [
    ({"command": ""}, "Command must be between 1 and 4096 characters"),
    ({"command": "x" * 4097}, "Command must be between 1 and 4096 characters"),
    ({"command": 5}, "Command must be a string"),
    ({"user": ""}, "User must be between 1 and 255 characters"),
    ({"user": "root"}, "user invalid (requested user 'root' not allowed, permitted users are: 'vcap')"),
    ({"health_check": {"type": "bogus"}}, 'Health check type must be "port", "process", or "http"'),
    ({"health_check": {"data": {"timeout": 0}}}, "Health check timeout must be greater than or equal to 1"),
    ({"health_check": {"data": {"timeout": "soon"}}}, "Health check timeout is not a number"),
    ({"health_check": {"data": {"invocation_timeout": 1.5}}}, "Health check invocation timeout must be an integer"),
    ({"health_check": {"data": {"timeout": 181}}}, "health_check_timeout Maximum exceeded: max 180s"),
    ({"health_check": {"type": "http", "data": {"endpoint": "up"}}}, "Health check endpoint must be a valid URI path"),
    (
        {"health_check": {"type": "http"}},
        "health_check_http_endpoint HTTP health check endpoint is not a valid URI path: ",
    ),
    (
        {"readiness_health_check": {"data": {"interval": -1}}},
        "Readiness health check interval must be greater than or equal to 1",
    ),
    (
        {"readiness_health_check": {"type": "tcp"}},
        'Readiness health check type must be "port", "process", or "http"',
    ),
    ({"instances": 2, "ports": [8080]}, "Unknown field(s): 'instances', 'ports'"),
    ({"metadata": "x"}, "Metadata must be an object"),
    ({"wat": 1, "command": ""}, "Unknown field(s): 'wat', Command must be between 1 and 4096 characters"),
]


@pytest.mark.parametrize(("body", "detail"), UPDATE_ERRORS)
def test_update_errors(world: World, app: dict[str, Any], body: dict[str, Any], detail: str) -> None:
    before = web(world, app)
    r = world.admin.patch(f"/v3/processes/{app['guid']}", json=body)
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    assert web(world, app) == before


def test_scale(world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]) -> None:
    supporter = world.as_role("space_supporter", org, space)
    before = web(world, app)
    body = {"instances": 3, "memory_in_mb": 256, "disk_in_mb": 512, "log_rate_limit_in_bytes_per_second": 1024}
    r = supporter.post(f"/v3/processes/{app['guid']}/actions/scale", json=body)
    assert r.status_code == 202, r.text
    # Cloud Controller answers 202 with the process itself and no job to follow.
    assert "location" not in r.headers
    assert r.json() == expected_process(
        world.server.url,
        app,
        before,
        updated_at=ANY_TIMESTAMP,
        instances=3,
        memory_in_mb=256,
        disk_in_mb=512,
        log_rate_limit_in_bytes_per_second=1024,
    )
    assert r.json()["version"] == before["version"]
    [event] = events(world, "audit.app.process.scale", app["guid"])
    assert event.data == {"process_guid": app["guid"], "process_type": "web", "request": body}


def test_scale_nested_as_cf_scale_sends_it(world: World, app: dict[str, Any]) -> None:
    path = f"/v3/apps/{app['guid']}/processes/worker/actions/scale"
    # Rails reads a numeric string as the number.
    r = world.admin.post(path, json={"instances": "2"})
    assert (r.status_code, r.json()["type"], r.json()["instances"]) == (202, "worker", 2)
    r = world.admin.post(path, json={"instances": 0, "log_rate_limit_in_bytes_per_second": -1})
    assert (r.status_code, r.json()["instances"], r.json()["log_rate_limit_in_bytes_per_second"]) == (202, 0, -1)


SCALE_ERRORS = [
    ({"instances": -1}, "Instances must be greater than or equal to 0"),
    ({"instances": "three"}, "Instances is not a number"),
    ({"instances": True}, "Instances is not a number"),
    ({"instances": 1.5}, "Instances must be an integer"),
    ({"instances": 2**31}, "Instances must be less than or equal to 2147483647"),
    ({"memory_in_mb": "1G"}, "Memory in mb is not a number"),
    ({"memory_in_mb": 0}, "Memory in mb must be greater than 0"),
    ({"disk_in_mb": -5}, "Disk in mb must be greater than 0"),
    (
        {"log_rate_limit_in_bytes_per_second": -2},
        "Log rate limit in bytes per second must be greater than or equal to -1",
    ),
    ({"disk_in_mb": 4096}, "disk_quota too much disk requested (requested 4096 MB - must be less than 2048 MB)"),
    ({"cpu": 2}, "Unknown field(s): 'cpu'"),
    (
        {"instances": -1, "memory_in_mb": 0},
        "Instances must be greater than or equal to 0, Memory in mb must be greater than 0",
    ),
]


@pytest.mark.parametrize(("body", "detail"), SCALE_ERRORS)
def test_scale_errors(world: World, app: dict[str, Any], body: dict[str, Any], detail: str) -> None:
    before = web(world, app)
    r = world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json=body)
    assert (r.status_code, r.json()) == (422, cf_error(detail))
    assert web(world, app) == before


def test_scale_needs_the_app_scaling_flag(
    world: World, org: dict[str, Any], space: dict[str, Any], app: dict[str, Any]
) -> None:
    dev = world.as_role("space_developer", org, space)
    assert world.admin.patch("/v3/feature_flags/app_scaling", json={"enabled": False}).status_code == 200
    try:
        r = dev.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2})
        assert (r.status_code, r.json()) == (
            403,
            cf_error("Feature Disabled: app_scaling", "CF-FeatureDisabled", 330002),
        )
        # Admins are not held back by this flag.
        assert world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2}).status_code == 202
    finally:
        world.admin.patch("/v3/feature_flags/app_scaling", json={"enabled": True})
