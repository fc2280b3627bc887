"""``/v3/organizations`` and ``/v3/spaces``."""

from __future__ import annotations

from typing import Any

from tests.support.cf import World, unique
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP


def test_org_create_show_update(world: World) -> None:
    base = world.server.url
    name = unique("org")
    r = world.admin.post("/v3/organizations", json={"name": name, "metadata": {"labels": {"a": "b"}}})
    assert r.status_code == 201, r.text
    org = r.json()
    g = org["guid"]
    # Every new org gets the default organization quota.
    default = world.admin.get("/v3/organization_quotas", params={"names": "default"}).json()["resources"][0]
    assert org == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "name": name,
        "suspended": False,
        "relationships": {"quota": {"data": {"guid": default["guid"]}}},
        "metadata": {"labels": {"a": "b"}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/organizations/{g}"},
            "domains": {"href": f"{base}/v3/organizations/{g}/domains"},
            "default_domain": {"href": f"{base}/v3/organizations/{g}/domains/default"},
            "quota": {"href": f"{base}/v3/organization_quotas/{default['guid']}"},
        },
    }
    assert world.admin.get(f"/v3/organizations/{g}").json() == org
    dup = world.admin.post("/v3/organizations", json={"name": name.upper()})
    assert dup.status_code == 422
    assert dup.json()["errors"][0]["detail"] == f"Organization '{name.upper()}' already exists."
    other = world.org()
    r = world.admin.patch(f"/v3/organizations/{other['guid']}", json={"name": name})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == f"Organization name '{name}' is already taken."
    for body, detail in [
        ({}, "Name can't be blank"),
        ({"name": 1}, "Name must be a string"),
        ({"name": "x" * 256}, "Name is too long (maximum is 255 characters)"),
        ({"name": "x", "suspended": "no"}, "Suspended must be a boolean"),
        ({"name": "x", "quota": 1}, "Unknown field(s): 'quota'"),
    ]:
        r = world.admin.post("/v3/organizations", json=body)
        assert r.status_code == 422
        assert detail in r.json()["errors"][0]["detail"], (body, r.text)


def test_org_creation_by_users_needs_flag(flags_world: World) -> None:
    world = flags_world
    guid, name = world.new_user()
    user = world.login_as(name)
    r = user.post("/v3/organizations", json={"name": unique("org")})
    assert r.status_code == 403
    world.admin.patch("/v3/feature_flags/user_org_creation", json={"enabled": True})
    try:
        r = user.post("/v3/organizations", json={"name": unique("org")})
        assert r.status_code == 201
        roles = world.admin.get("/v3/roles", params={"user_guids": guid}).json()["resources"]
        assert sorted(role["type"] for role in roles) == ["organization_manager", "organization_user"]
        assert user.get(f"/v3/organizations/{r.json()['guid']}").status_code == 200
    finally:
        world.admin.patch("/v3/feature_flags/user_org_creation", json={"enabled": False})


def test_org_visibility_and_delete(world: World) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    manager = world.as_role("org_manager", org, space)
    stranger = world.as_role("no_role", org, space)
    listed = [o["guid"] for o in manager.get("/v3/organizations").json()["resources"]]
    assert listed == [org["guid"]]
    assert stranger.get("/v3/organizations").json()["resources"] == []
    assert stranger.get(f"/v3/organizations/{org['guid']}").status_code == 404
    assert manager.delete(f"/v3/organizations/{org['guid']}").status_code == 403
    r = world.admin.delete(f"/v3/organizations/{org['guid']}")
    assert r.status_code == 202
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"]) == ("organization.delete", "COMPLETE")
    for path in (
        f"/v3/organizations/{org['guid']}",
        f"/v3/spaces/{space['guid']}",
        f"/v3/apps/{app['guid']}",
    ):
        assert world.admin.get(path).status_code == 404, path


def test_space_create_show_update_delete(world: World) -> None:
    base = world.server.url
    org = world.org()
    name = unique("space")
    rel = {"organization": {"data": {"guid": org["guid"]}}}
    r = world.admin.post("/v3/spaces", json={"name": name, "relationships": rel})
    assert r.status_code == 201, r.text
    space = r.json()
    g = space["guid"]
    assert space == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "name": name,
        "relationships": {"organization": {"data": {"guid": org["guid"]}}, "quota": {"data": None}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/spaces/{g}"},
            "organization": {"href": f"{base}/v3/organizations/{org['guid']}"},
            "features": {"href": f"{base}/v3/spaces/{g}/features"},
            "apply_manifest": {"href": f"{base}/v3/spaces/{g}/actions/apply_manifest", "method": "POST"},
        },
    }
    dup = world.admin.post("/v3/spaces", json={"name": name, "relationships": rel})
    assert (dup.status_code, dup.json()["errors"][0]["detail"]) == (
        422,
        "Name must be unique per organization",
    )
    bad_org = world.admin.post(
        "/v3/spaces", json={"name": "x", "relationships": {"organization": {"data": {"guid": "x"}}}}
    )
    assert bad_org.json()["errors"][0]["detail"] == (
        "Invalid organization. Ensure the organization exists and you have access to it."
    )
    other = world.space(org)
    r = world.admin.patch(f"/v3/spaces/{other['guid']}", json={"name": name})
    assert (
        r.json()["errors"][0]["detail"] == f"Organization '{org['name']}' already contains a space with name '{name}'."
    )
    included = world.admin.get(f"/v3/spaces/{g}", params={"include": "organization"}).json()["included"]
    assert [o["guid"] for o in included["organizations"]] == [org["guid"]]
    listing = world.admin.get("/v3/spaces", params={"organization_guids": org["guid"], "order_by": "name"}).json()
    assert [s["name"] for s in listing["resources"]] == sorted([name, other["name"]])

    space_manager = world.as_role("space_manager", org, space)
    assert space_manager.patch(f"/v3/spaces/{g}", json={"name": unique("renamed")}).status_code == 200
    assert space_manager.delete(f"/v3/spaces/{g}").status_code == 403
    r = world.admin.delete(f"/v3/spaces/{g}")
    assert r.status_code == 202
    assert world.admin.wait_for_job(r.headers["location"])["operation"] == "space.delete"
    assert world.admin.get(f"/v3/spaces/{g}").status_code == 404


def test_space_visibility_by_role(world: World) -> None:
    org = world.org()
    s1, s2 = world.space(org), world.space(org)

    def visible(role: str) -> set[str]:
        api = world.as_role(role, org, s1)
        return {
            s["guid"] for s in api.get("/v3/spaces", params={"organization_guids": org["guid"]}).json()["resources"]
        }

    assert visible("org_manager") == {s1["guid"], s2["guid"]}
    assert visible("space_auditor") == {s1["guid"]}
    assert visible("org_auditor") == set()
    assert visible("global_auditor") == {s1["guid"], s2["guid"]}


def test_space_create_permissions(world: World) -> None:
    org = world.org()
    space = world.space(org)
    body: dict[str, Any] = {"relationships": {"organization": {"data": {"guid": org["guid"]}}}}
    expected = {"org_manager": 201, "admin": 201, "space_developer": 403, "org_auditor": 403, "no_role": 422}
    for role, status in expected.items():
        api = world.as_role(role, org, space)
        r = api.post("/v3/spaces", json={**body, "name": unique("s")})
        assert r.status_code == status, (role, r.text)
