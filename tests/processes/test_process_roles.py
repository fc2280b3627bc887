"""Who may read and change processes (cf-run.md section 1: R reads, M manages).

Invisible is 404, visible but not allowed is 403, a suspended organization is 403 for all but admins.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.processes.helpers import CANNOT_SEE, MANAGE, NOT_AUTHORIZED, cf_error, deployable_app, role_matrix
from tests.support.cf import ROLES, Api, World

PROCESS_NOT_FOUND = cf_error("Process not found", "CF-ResourceNotFound", 10010)
APP_NOT_FOUND = cf_error("App not found", "CF-ResourceNotFound", 10010)


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[str, Any]:
    return role_matrix(world)


@pytest.mark.parametrize("role", ROLES)
def test_reads(matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    g = matrix["app"]["guid"]
    flat = [f"/v3/processes/{g}/stats", f"/v3/processes/{g}/process_instances", f"/v3/processes/{g}/sidecars"]
    nested = [f"/v3/apps/{g}/processes/web/stats", f"/v3/apps/{g}/sidecars"]
    for path in flat + nested:
        r = api.get(path)
        if role in CANNOT_SEE:
            assert (r.status_code, r.json()) == (404, PROCESS_NOT_FOUND if path in flat else APP_NOT_FOUND), path
        else:
            assert r.status_code == 200, (path, r.text)


@pytest.mark.parametrize("role", ROLES)
def test_writes(matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    g = matrix["app"]["guid"]
    calls = [
        ("PATCH", f"/v3/processes/{g}", {"command": "./server.sh"}, 200),
        ("PATCH", f"/v3/apps/{g}/processes/web", {}, 200),
        ("POST", f"/v3/processes/{g}/actions/scale", {"instances": 1}, 202),
        ("POST", f"/v3/apps/{g}/processes/web/actions/scale", {"instances": 1}, 202),
        ("DELETE", f"/v3/processes/{g}/instances/0", None, 204),
        ("DELETE", f"/v3/apps/{g}/processes/web/instances/0", None, 204),
    ]
    for method, path, body, ok in calls:
        r = api.request(method, path, json=body) if body is not None else api.request(method, path)
        if role in MANAGE:
            assert r.status_code == ok, (method, path, r.text)
        elif role in CANNOT_SEE:
            expected = APP_NOT_FOUND if path.startswith("/v3/apps") else PROCESS_NOT_FOUND
            assert (r.status_code, r.json()) == (404, expected), (method, path)
        else:
            assert (r.status_code, r.json()) == (403, NOT_AUTHORIZED), (method, path)


def test_suspended_org_stops_managers_not_admins(world: World) -> None:
    org = world.org()
    space = world.space(org)
    app = deployable_app(world, space)
    dev = world.as_role("space_developer", org, space)
    assert world.admin.patch(f"/v3/organizations/{org['guid']}", json={"suspended": True}).status_code == 200
    suspended = cf_error("The organization is suspended", "CF-OrgSuspended", 10017)
    r = dev.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2})
    assert (r.status_code, r.json()) == (403, suspended)
    r = dev.patch(f"/v3/processes/{app['guid']}", json={})
    assert (r.status_code, r.json()) == (403, suspended)
    assert dev.get(f"/v3/processes/{app['guid']}/stats").status_code == 200
    assert world.admin.post(f"/v3/processes/{app['guid']}/actions/scale", json={"instances": 2}).status_code == 202
