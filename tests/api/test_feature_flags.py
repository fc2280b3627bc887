"""``/v3/feature_flags``."""

from __future__ import annotations

from ladle.db.feature_flags import DEFAULT_FLAGS
from tests.support.cf import World


def test_list_show_update(world: World) -> None:
    base = world.server.url
    listing = world.admin.get("/v3/feature_flags", params={"per_page": 100}).json()
    assert [f["name"] for f in listing["resources"]] == sorted(DEFAULT_FLAGS)
    shown = world.admin.get("/v3/feature_flags/resource_matching").json()
    assert shown == {
        "name": "resource_matching",
        "enabled": True,
        "updated_at": None,
        "custom_error_message": None,
        "links": {"self": {"href": f"{base}/v3/feature_flags/resource_matching"}},
    }
    assert world.admin.get("/v3/feature_flags/nope").json()["errors"][0]["detail"] == "Feature flag not found"

    _, name = world.new_user()
    user = world.login_as(name)
    assert user.get("/v3/feature_flags/task_creation").status_code == 200
    assert user.patch("/v3/feature_flags/task_creation", json={"enabled": False}).status_code == 403
    r = world.admin.patch("/v3/feature_flags/task_creation", json={"enabled": "no"})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Enabled must be a boolean")
    r = world.admin.patch("/v3/feature_flags/task_creation", json={"custom_error_message": ""})
    assert r.json()["errors"][0]["detail"] == "Custom error message is too short (minimum is 1 character)"


def test_custom_error_message_is_used(flags_world: World) -> None:
    world = flags_world
    space = world.space()
    try:
        r = world.admin.patch(
            "/v3/feature_flags/diego_docker",
            json={"enabled": False, "custom_error_message": "no docker here"},
        )
        assert r.status_code == 200
        assert r.json()["updated_at"] is not None
        body = {
            "name": "d",
            "relationships": {"space": {"data": {"guid": space["guid"]}}},
            "lifecycle": {"type": "docker", "data": {}},
        }
        denied = world.admin.post("/v3/apps", json=body)
        assert denied.json()["errors"][0]["detail"] == "Feature Disabled: no docker here"
    finally:
        world.admin.patch("/v3/feature_flags/diego_docker", json={"custom_error_message": None})


def test_list_rejects_created_ats_and_filters_updated_ats(world: World) -> None:
    r = world.admin.get("/v3/feature_flags", params={"created_ats": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400
    assert "Filtering by 'created_ats' is not allowed on this resource." in r.json()["errors"][0]["detail"]
    r = world.admin.get("/v3/feature_flags", params={"updated_ats[lt]": "2000-01-01T00:00:00Z"})
    assert r.json()["resources"] == []
