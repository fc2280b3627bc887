"""The role matrix for apps, as Cloud Controller's request specs state it.

Each role is a real user with real roles, logging in through the token server.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cf import ROLES, Api, World, unique

NOT_AUTHORIZED = {
    "errors": [
        {
            "detail": "You are not authorized to perform the requested action",
            "title": "CF-NotAuthorized",
            "code": 10003,
        }
    ]
}
ORG_SUSPENDED = {"errors": [{"detail": "The organization is suspended", "title": "CF-OrgSuspended", "code": 10017}]}
APP_NOT_FOUND = {"errors": [{"detail": "App not found", "title": "CF-ResourceNotFound", "code": 10010}]}
INVALID_SPACE = {
    "errors": [
        {
            "detail": "Invalid space. Ensure that the space exists and you have access to it.",
            "title": "CF-UnprocessableEntity",
            "code": 10008,
        }
    ]
}
CANNOT_SEE = {"org_auditor", "org_billing_manager", "no_role"}
CAN_WRITE = {"admin", "space_developer"}


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[str, Any]:
    org = world.org()
    space = world.space(org)
    other_space = world.space(org)
    apis = {role: world.as_role(role, org, space) for role in ROLES}
    return {"org": org, "space": space, "other_space": other_space, "apis": apis}


def expected_create(role: str) -> int:
    if role in CAN_WRITE:
        return 201
    return 422 if role in CANNOT_SEE else 403


@pytest.mark.parametrize("role", ROLES)
def test_create(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    body = {"name": unique("app"), "relationships": {"space": {"data": {"guid": matrix["space"]["guid"]}}}}
    r = api.post("/v3/apps", json=body)
    assert r.status_code == expected_create(role), r.text
    if r.status_code == 403:
        assert r.json() == NOT_AUTHORIZED
    if r.status_code == 422:
        assert r.json() == INVALID_SPACE


@pytest.mark.parametrize("role", ROLES)
def test_show_list_update_delete(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    app = world.app(matrix["space"])
    elsewhere = world.app(matrix["other_space"])

    show = api.get(f"/v3/apps/{app['guid']}")
    if role in CANNOT_SEE:
        assert (show.status_code, show.json()) == (404, APP_NOT_FOUND)
    else:
        assert show.status_code == 200

    listed = {a["guid"] for a in api.get("/v3/apps", params={"per_page": 5000}).json()["resources"]}
    if role in CANNOT_SEE:
        assert app["guid"] not in listed and elsewhere["guid"] not in listed
    elif role.startswith("space_"):
        assert app["guid"] in listed and elsewhere["guid"] not in listed
    else:  # admin, admin_read_only, global_auditor, org_manager see every space of the org
        assert {app["guid"], elsewhere["guid"]} <= listed

    patched = api.patch(f"/v3/apps/{app['guid']}", json={"name": unique("renamed")})
    deleted = api.delete(f"/v3/apps/{app['guid']}")
    if role in CAN_WRITE:
        assert patched.status_code == 200
        assert deleted.status_code == 202
    elif role in CANNOT_SEE:
        assert (patched.status_code, patched.json()) == (404, APP_NOT_FOUND)
        assert (deleted.status_code, deleted.json()) == (404, APP_NOT_FOUND)
    else:
        assert (patched.status_code, patched.json()) == (403, NOT_AUTHORIZED)
        assert (deleted.status_code, deleted.json()) == (403, NOT_AUTHORIZED)


@pytest.mark.parametrize("role", ROLES)
def test_env_visibility(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    app = world.app(matrix["space"])
    r = api.get(f"/v3/apps/{app['guid']}/env")
    if role in {"admin", "admin_read_only", "space_developer", "space_supporter"}:
        assert r.status_code == 200
        redacted = r.json()["system_env_json"] == {"redacted_message": "[PRIVATE DATA HIDDEN]"}
        assert redacted == (role == "space_supporter")
    elif role in CANNOT_SEE:
        assert r.status_code == 404
    else:
        assert (r.status_code, r.json()) == (403, NOT_AUTHORIZED)


def test_suspended_org_stops_developers_not_admins(world: World) -> None:
    org = world.org()
    space = world.space(org)
    dev = world.as_role("space_developer", org, space)
    app = world.app(space)
    assert world.admin.patch(f"/v3/organizations/{org['guid']}", json={"suspended": True}).status_code == 200
    body = {"name": unique("app"), "relationships": {"space": {"data": {"guid": space["guid"]}}}}
    r = dev.post("/v3/apps", json=body)
    assert (r.status_code, r.json()) == (403, ORG_SUSPENDED)
    r = dev.patch(f"/v3/apps/{app['guid']}", json={"name": "n"})
    assert (r.status_code, r.json()) == (403, ORG_SUSPENDED)
    assert dev.get(f"/v3/apps/{app['guid']}").status_code == 200
    assert world.admin.post("/v3/apps", json=body).status_code == 201


def test_read_only_token_cannot_write(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    guid, name = world.new_user()
    world.give_role(guid, "organization_user", org=org["guid"])
    world.give_role(guid, "space_developer", space=space["guid"])
    reader = world.login_as(name, scope="cloud_controller.read")
    assert reader.get("/v3/apps").status_code == 200
    r = reader.post("/v3/apps", json={"name": "x", "relationships": {"space": {"data": {"guid": space["guid"]}}}})
    assert (r.status_code, r.json()) == (403, NOT_AUTHORIZED)
