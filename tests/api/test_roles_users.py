"""``/v3/roles`` and ``/v3/users``."""

from __future__ import annotations

from tests.support.cf import World, unique
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP


def test_role_lifecycle(world: World) -> None:
    base = world.server.url
    org = world.org()
    space = world.space(org)
    guid, name = world.new_user()
    space_role = {
        "type": "space_developer",
        "relationships": {"user": {"data": {"guid": guid}}, "space": {"data": {"guid": space["guid"]}}},
    }
    r = world.admin.post("/v3/roles", json=space_role)
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        "Users cannot be assigned roles in a space if they do not have a role in that space's organization."
    )
    r = world.admin.post(
        "/v3/roles",
        json={
            "type": "organization_user",
            "relationships": {
                "user": {"data": {"username": name}},
                "organization": {"data": {"guid": org["guid"]}},
            },
        },
    )
    assert r.status_code == 201, r.text
    org_role = r.json()
    assert org_role == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "type": "organization_user",
        "relationships": {
            "user": {"data": {"guid": guid}},
            "organization": {"data": {"guid": org["guid"]}},
            "space": {"data": None},
        },
        "links": {
            "self": {"href": f"{base}/v3/roles/{org_role['guid']}"},
            "user": {"href": f"{base}/v3/users/{guid}"},
            "organization": {"href": f"{base}/v3/organizations/{org['guid']}"},
        },
    }
    r = world.admin.post("/v3/roles", json=space_role)
    assert r.status_code == 201
    dev_role = r.json()
    assert list(dev_role["relationships"]) == ["user", "space", "organization"]
    again = world.admin.post("/v3/roles", json=space_role)
    assert again.json()["errors"][0]["detail"] == (
        f"User '{name}' already has 'space_developer' role in space '{space['name']}'."
    )
    blocked = world.admin.delete(f"/v3/roles/{org_role['guid']}")
    assert blocked.status_code == 422
    assert blocked.json()["errors"][0]["detail"] == (
        "Cannot delete organization_user role while user has roles in spaces in that organization."
    )
    r = world.admin.delete(f"/v3/roles/{dev_role['guid']}")
    assert r.status_code == 202
    assert world.admin.wait_for_job(r.headers["location"])["operation"] == "role.delete"
    assert world.admin.get(f"/v3/roles/{dev_role['guid']}").status_code == 404
    assert world.admin.delete(f"/v3/roles/{org_role['guid']}").status_code == 202


def test_role_create_messages(world: World) -> None:
    org = world.org()
    guid, _ = world.new_user()
    cases = [
        (
            {
                "type": "captain",
                "relationships": {
                    "user": {"data": {"guid": guid}},
                    "organization": {"data": {"guid": org["guid"]}},
                },
            },
            'Type must be one of the allowed types ["organization_auditor", "organization_manager", '
            '"organization_billing_manager", "organization_user", "space_auditor", "space_manager", '
            '"space_developer", "space_supporter"]',
        ),
        (
            {"type": "space_developer", "relationships": {"user": {"data": {"guid": guid}}}},
            "Relationships must specify either a space or an organization.",
        ),
        (
            {
                "type": "organization_user",
                "relationships": {
                    "user": {"data": {"guid": guid, "username": "x"}},
                    "organization": {"data": {"guid": org["guid"]}},
                },
            },
            "Relationships Username cannot be specified when identifying user by guid",
        ),
        (
            {
                "type": "space_developer",
                "relationships": {
                    "user": {"data": {"guid": guid}},
                    "organization": {"data": {"guid": org["guid"]}},
                },
            },
            "Relationships Organization cannot be provided with the space role type: 'space_developer'.",
        ),
        (
            {
                "type": "organization_user",
                "relationships": {
                    "user": {"data": {"username": "nobody-here"}},
                    "organization": {"data": {"guid": org["guid"]}},
                },
            },
            "No user exists with the username 'nobody-here'.",
        ),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/roles", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["detail"] == detail


def test_role_list_visibility_and_errors(world: World) -> None:
    org = world.org()
    space = world.space(org)
    auditor = world.as_role("org_auditor", org, space)
    developer = world.as_role("space_developer", org, space)
    seen_by_auditor = auditor.get("/v3/roles", params={"organization_guids": org["guid"]}).json()["resources"]
    assert seen_by_auditor and all(r["relationships"]["organization"]["data"] for r in seen_by_auditor)
    seen_by_dev = developer.get("/v3/roles", params={"space_guids": space["guid"]}).json()["resources"]
    assert {r["type"] for r in seen_by_dev} == {"space_developer"}
    r = developer.get("/v3/roles", params={"bogus": "1"})
    assert r.status_code == 422
    included = world.admin.get("/v3/roles", params={"space_guids": space["guid"], "include": "user,space"}).json()
    assert {u["guid"] for u in included["included"]["users"]} == {developer.user_guid}
    assert [s["guid"] for s in included["included"]["spaces"]] == [space["guid"]]


def test_users_list_and_visibility(world: World) -> None:
    org = world.org()
    space = world.space(org)
    mate = world.as_role("org_auditor", org, space)
    me = world.as_role("space_developer", org, space)
    stranger_guid, stranger_name = world.new_user()
    mine = {u["guid"] for u in me.get("/v3/users", params={"per_page": 5000}).json()["resources"]}
    assert {me.user_guid, mate.user_guid} <= mine
    assert stranger_guid not in mine
    assert me.get(f"/v3/users/{stranger_guid}").status_code == 404
    found = world.admin.get("/v3/users", params={"usernames": stranger_name}).json()["resources"]
    assert [(u["guid"], u["username"], u["presentation_name"], u["origin"]) for u in found] == [
        (stranger_guid, stranger_name, stranger_name, "uaa")
    ]
    partial = world.admin.get("/v3/users", params={"partial_usernames": stranger_name[-8:]}).json()["resources"]
    assert [u["guid"] for u in partial] == [stranger_guid]
    r = world.admin.get("/v3/users", params={"origins": "uaa"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        "Origins filter cannot be provided without usernames or partial_usernames filter."
    )


def test_create_user_records(world: World) -> None:
    guid = unique("external")
    r = world.admin.post("/v3/users", json={"guid": guid})
    assert r.status_code == 201
    assert r.json()["presentation_name"] == guid and r.json()["username"] is None
    dup = world.admin.post("/v3/users", json={"guid": guid})
    assert dup.json()["errors"][0]["detail"] == f"User with guid '{guid}' already exists."
    r = world.admin.post("/v3/users", json={"username": "ldap-person", "origin": "ldap"})
    assert r.status_code == 201
    assert (r.json()["username"], r.json()["origin"]) == ("ldap-person", "ldap")
    r = world.admin.post("/v3/users", json={"username": "x"})
    assert r.json()["errors"][0]["detail"] == "Username can only be provided together with 'origin'"
    _, user_name = world.new_user()
    assert world.login_as(user_name).post("/v3/users", json={"guid": "y"}).status_code == 403
