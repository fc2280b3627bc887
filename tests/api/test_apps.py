"""``/v3/apps``: create, show, list, update, delete, as a Space Developer and an admin."""

from __future__ import annotations

from typing import Any

from tests.support.cf import World, unique
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP


def app_links(base: str, guid: str, space: str) -> dict[str, Any]:
    a = f"{base}/v3/apps/{guid}"
    return {
        "self": {"href": a},
        "environment_variables": {"href": f"{a}/environment_variables"},
        "space": {"href": f"{base}/v3/spaces/{space}"},
        "processes": {"href": f"{a}/processes"},
        "packages": {"href": f"{a}/packages"},
        "current_droplet": {"href": f"{a}/droplets/current"},
        "droplets": {"href": f"{a}/droplets"},
        "tasks": {"href": f"{a}/tasks"},
        "start": {"href": f"{a}/actions/start", "method": "POST"},
        "stop": {"href": f"{a}/actions/stop", "method": "POST"},
        "clear_buildpack_cache": {"href": f"{a}/actions/clear_buildpack_cache", "method": "POST"},
        "revisions": {"href": f"{a}/revisions"},
        "deployed_revisions": {"href": f"{a}/revisions/deployed"},
        "features": {"href": f"{a}/features"},
    }


def test_developer_creates_app_with_web_process(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    dev = world.as_role("space_developer", org, space)
    body = {
        "name": "my_app",
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        "environment_variables": {"FOO": "bar"},
        "metadata": {"labels": {"tier": "web"}, "annotations": {"contact": "bill"}},
    }
    r = dev.post("/v3/apps", json=body)
    assert r.status_code == 201, r.text
    app = r.json()
    base = world.server.url
    assert app == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": app["created_at"],
        "name": "my_app",
        "state": "STOPPED",
        "lifecycle": {"type": "buildpack", "data": {"buildpacks": [], "stack": "cflinuxfs4"}},
        "relationships": {
            "space": {"data": {"guid": space["guid"]}},
            "current_droplet": {"data": {"guid": None}},
        },
        "metadata": {"labels": {"tier": "web"}, "annotations": {"contact": "bill"}},
        "links": app_links(base, app["guid"], space["guid"]),
    }
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-vcap-request-id"]

    process = dev.get(f"/v3/processes/{app['guid']}")
    assert process.status_code == 200
    p = process.json()
    assert (p["guid"], p["type"], p["instances"], p["health_check"]["type"]) == (
        app["guid"],
        "web",
        1,
        "port",
    )
    assert p["command"] == ""
    assert p["user"] == "vcap"
    assert p["relationships"] == {"app": {"data": {"guid": app["guid"]}}, "revision": None}

    env = dev.get(f"/v3/apps/{app['guid']}/environment_variables").json()
    assert env["var"] == {"FOO": "bar"}


def test_name_is_unique_per_space_case_insensitively(world: World, space: dict[str, Any]) -> None:
    world.app(space, name="dup")
    r = world.admin.post(
        "/v3/apps", json={"name": "DUP", "relationships": {"space": {"data": {"guid": space["guid"]}}}}
    )
    assert r.status_code == 422
    assert r.json() == {
        "errors": [
            {
                "detail": "App with the name 'DUP' already exists.",
                "title": "CF-UniquenessError",
                "code": 10016,
            }
        ]
    }
    # Another space may reuse the name.
    world.app(world.space(), name="dup")


def test_create_validation_messages(world: World, space: dict[str, Any]) -> None:
    rel = {"space": {"data": {"guid": space["guid"]}}}
    cases = [
        ({"name": "x", "relationships": rel, "foo": 1}, "Unknown field(s): 'foo'"),
        (
            {"name": "x", "relationships": rel, "lifecycle": {"type": "rkt", "data": {}}},
            "Lifecycle type is not included in the list: buildpack, docker, cnb",
        ),
        ({"name": 5, "relationships": rel}, "Name must be a string"),
        (
            {"name": "x", "relationships": rel, "environment_variables": []},
            "Environment variables must be an object",
        ),
        ({"name": "x"}, "Relationships 'relationships' is not an object"),
        (
            {"name": "x", "relationships": {}},
            "Relationships 'relationships' must include one or more valid relationships",
        ),
        (
            {"name": "x", "relationships": {"space": {"guid": "x"}}},
            'Relationships Space must be structured like this: "space: {"data": {"guid": "valid-guid"}}"',
        ),
        (
            {
                "name": "x",
                "relationships": rel,
                "lifecycle": {"type": "buildpack", "data": {"buildpacks": "ruby"}},
            },
            "Lifecycle Buildpacks must be an array",
        ),
        (
            {"name": "x", "relationships": rel, "lifecycle": {"type": "docker", "data": {"image": "a"}}},
            "Lifecycle Unknown field(s): 'image'",
        ),
        (
            {"name": "x", "relationships": rel, "environment_variables": {"VCAP_X": "1"}},
            "environment_variables cannot start with VCAP_",
        ),
        ({"name": "  ", "relationships": rel}, "name is not present"),
        (
            {
                "name": "x",
                "relationships": rel,
                "lifecycle": {"type": "buildpack", "data": {"stack": "nope"}},
            },
            "Stack must be an existing stack",
        ),
        (
            {
                "name": "x",
                "relationships": rel,
                "lifecycle": {"type": "buildpack", "data": {"buildpacks": ["nope"]}},
            },
            'Buildpack "nope" for stack "cflinuxfs4" must be an existing admin buildpack or a valid git URI',
        ),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/apps", json=body)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["errors"][0]
        assert (error["title"], error["code"]) == ("CF-UnprocessableEntity", 10008)
        assert detail in error["detail"], (body, error["detail"])


def test_empty_body_lists_every_problem(world: World) -> None:
    r = world.admin.post("/v3/apps", content=b"")
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Relationships 'relationships' is not an object, Name must be a string"


def test_malformed_json_and_non_object_bodies(world: World) -> None:
    r = world.admin.post("/v3/apps", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {
        "errors": [
            {
                "detail": "Request invalid due to parse error: invalid request body",
                "title": "CF-MessageParseError",
                "code": 1001,
            }
        ]
    }
    r = world.admin.post("/v3/apps", json=[1, 2])
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"].startswith("Unknown field(s): '_json'")


def test_invisible_or_missing_space_is_422(world: World) -> None:
    r = world.admin.post("/v3/apps", json={"name": "x", "relationships": {"space": {"data": {"guid": "nope"}}}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Invalid space. Ensure that the space exists and you have access to it."


def test_docker_lifecycle_needs_feature_flag(flags_world: World) -> None:
    world = flags_world
    space = world.space()
    body = {
        "name": unique("docker"),
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        "lifecycle": {"type": "docker", "data": {}},
    }
    r = world.admin.post("/v3/apps", json=body)
    assert r.status_code == 403
    assert r.json() == {
        "errors": [{"detail": "Feature Disabled: diego_docker", "title": "CF-FeatureDisabled", "code": 330002}]
    }
    assert world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True}).status_code == 200
    try:
        r = world.admin.post("/v3/apps", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["lifecycle"] == {"type": "docker", "data": {}}
        p = world.admin.get(f"/v3/processes/{r.json()['guid']}").json()
        assert p["user"] == "root"
    finally:
        world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": False})


def test_update_app(world: World, space: dict[str, Any]) -> None:
    app = world.app(space, metadata={"labels": {"a": "1", "b": "2"}})
    r = world.admin.patch(
        f"/v3/apps/{app['guid']}",
        json={
            "name": "renamed",
            "lifecycle": {
                "type": "buildpack",
                "data": {"buildpacks": ["https://user:pw@example.com/bp.git"]},
            },
            "metadata": {"labels": {"a": None, "c": "3"}, "annotations": {"note": "x"}},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "renamed"
    assert body["lifecycle"]["data"] == {
        "buildpacks": ["https://***:***@example.com/bp.git"],
        "stack": "cflinuxfs4",
    }
    assert body["metadata"] == {"labels": {"b": "2", "c": "3"}, "annotations": {"note": "x"}}

    r = world.admin.patch(f"/v3/apps/{app['guid']}", json={"environment_variables": {"A": "b"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Unknown field(s): 'environment_variables'"

    r = world.admin.patch(f"/v3/apps/{app['guid']}", json={"lifecycle": {"type": "docker", "data": {}}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Lifecycle type cannot be changed from buildpack to docker"

    other = world.app(space)
    r = world.admin.patch(f"/v3/apps/{other['guid']}", json={"name": "RENAMED"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == 10016


def test_delete_app_runs_a_job(world: World, space: dict[str, Any]) -> None:
    app = world.app(space)
    r = world.admin.delete(f"/v3/apps/{app['guid']}")
    assert r.status_code == 202
    assert r.content == b""
    location = r.headers["location"]
    assert location.startswith(f"{world.server.url}/v3/jobs/")
    job = world.admin.wait_for_job(location)
    assert job == {
        "guid": location.rsplit("/", 1)[1],
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "operation": "app.delete",
        "state": "COMPLETE",
        "errors": [],
        "warnings": [],
        "links": {"self": {"href": location}},
    }
    assert world.admin.get(f"/v3/apps/{app['guid']}").status_code == 404
    assert world.admin.get(f"/v3/processes/{app['guid']}").status_code == 404


def test_env_var_endpoints(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    dev = world.as_role("space_developer", org, space)
    app = world.app(space, environment_variables={"KEEP": "1", "DROP": "2"})
    url = f"/v3/apps/{app['guid']}/environment_variables"
    for var, detail in [
        ({"VCAP_X": "1"}, "Var cannot start with VCAP_"),
        ({"vmcfoo": "1"}, "Var cannot start with VMC_"),
        ({"port": "1"}, "Var cannot set PORT"),
        ({"": "1"}, "Var key must be a minimum length of 1"),
        ({"N": 5}, "Non-string value in environment variable for key 'N', value '5'"),
    ]:
        r = dev.patch(url, json={"var": var})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["detail"] == detail
    r = dev.patch(url, json={"var": {"CF_X": "1", "DROP": None}})
    assert r.status_code == 200
    base = world.server.url
    assert r.json() == {
        "var": {"KEEP": "1", "CF_X": "1"},
        "links": {
            "self": {"href": f"{base}/v3/apps/{app['guid']}/environment_variables"},
            "app": {"href": f"{base}/v3/apps/{app['guid']}"},
        },
    }
    env = dev.get(f"/v3/apps/{app['guid']}/env").json()
    assert env["environment_variables"] == {"KEEP": "1", "CF_X": "1"}
    assert env["system_env_json"] == {"VCAP_SERVICES": {}}
    assert env["application_env_json"]["VCAP_APPLICATION"] == {
        "cf_api": base,
        "limits": {"fds": 16384},
        "application_name": app["name"],
        "application_uris": [],
        "name": app["name"],
        "space_name": space["name"],
        "space_id": space["guid"],
        "organization_id": org["guid"],
        "organization_name": org["name"],
        "uris": [],
        "users": None,
        "application_id": app["guid"],
    }
    assert dev.get(f"/v3/apps/{app['guid']}/permissions").json() == {
        "read_basic_data": True,
        "read_sensitive_data": True,
    }
    supporter = world.as_role("space_supporter", org, space)
    assert supporter.get(f"/v3/apps/{app['guid']}/env").json()["system_env_json"] == {
        "redacted_message": "[PRIVATE DATA HIDDEN]"
    }
    assert supporter.get(f"/v3/apps/{app['guid']}/permissions").json()["read_sensitive_data"] is False
