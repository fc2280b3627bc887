"""What the v7 CLI's service commands send: they are its v6 code on the v2 API.

``cf create-user-provided-service``, ``cf bind-service`` and ``cf services`` of CLI v7.2.0, request
by request, with the JSON types its ccv2 structs decode (Go: a string field given a number or
an object fails the whole command).
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.cf import Api, World, unique

SEMVER = re.compile(r"\A\d+\.\d+\.\d+\Z")


def _v2_error(r: Any, status: int, error_code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = dict(r.json())
    assert set(body) == {"code", "description", "error_code"}
    assert isinstance(body["code"], int)
    assert body["error_code"] == error_code
    return body


def test_v2_info_as_cli7_setup_reads_it(world: World) -> None:
    info = world.api().get("/v2/info")
    assert info.status_code == 200
    body = info.json()
    assert SEMVER.match(body["api_version"])
    major, minor, _ = map(int, body["api_version"].split("."))
    assert (major, minor) >= (2, 128)
    assert body["authorization_endpoint"]
    login = world.api().get(body["authorization_endpoint"].removeprefix(world.server.url) + "/login")
    assert login.status_code == 200
    for key in ("min_cli_version", "min_recommended_cli_version", "doppler_logging_endpoint", "routing_endpoint"):
        assert body[key] is None or isinstance(body[key], str)


def test_cups_bind_service_services_as_cli7_sends_them(world: World, space: dict[str, Any]) -> None:
    api = world.admin
    app = world.app(space)
    name = unique("ups")
    # cf cups NAME -p '{"user":"u","password":"s3cret"}' -t "x,y"
    r = api.post(
        "/v2/user_provided_service_instances",
        json={
            "name": name,
            "credentials": {"user": "u", "password": "s3cret"},
            "space_guid": space["guid"],
            "syslog_drain_url": "",
            "route_service_url": "",
            "tags": ["x", "y"],
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"metadata", "entity"}
    assert isinstance(created["metadata"]["guid"], str)
    assert created["metadata"]["url"] == f"/v2/user_provided_service_instances/{created['metadata']['guid']}"
    assert created["entity"]["type"] == "user_provided_service_instance"
    assert created["entity"]["tags"] == ["x", "y"]
    si_guid = created["metadata"]["guid"]
    # The same instance, seen through v3.
    v3 = api.get(f"/v3/service_instances/{si_guid}").json()
    assert (v3["name"], v3["type"], v3["tags"]) == (name, "user-provided", ["x", "y"])
    assert api.get(f"/v3/service_instances/{si_guid}/credentials").json() == {"user": "u", "password": "s3cret"}

    taken = api.post(
        "/v2/user_provided_service_instances", json={"name": name, "credentials": {}, "space_guid": space["guid"]}
    )
    body = _v2_error(taken, 400, "CF-ServiceInstanceNameTaken")
    assert body["code"] == 60002
    assert body["description"] == f"The service instance name is taken: {name}"

    # cf bind-service APP NAME: the app and the instance by name, then the binding.
    apps = api.get("/v2/apps", params=[("q", f"name:{app['name']}"), ("q", f"space_guid:{space['guid']}")])
    assert apps.status_code == 200, apps.text
    listed = apps.json()
    assert (listed["total_results"], listed["total_pages"], listed["prev_url"], listed["next_url"]) == (
        1,
        1,
        None,
        None,
    )
    entity = listed["resources"][0]["entity"]
    assert entity["name"] == app["name"]
    assert isinstance(entity["instances"], int)
    assert "environment_json" not in entity
    instances = api.get(
        f"/v2/spaces/{space['guid']}/service_instances",
        params={"q": f"name:{name}", "return_user_provided_service_instances": "true"},
    ).json()
    assert [i["metadata"]["guid"] for i in instances["resources"]] == [si_guid]
    r = api.post(
        "/v2/service_bindings?accepts_incomplete=true",
        json={"service_instance_guid": si_guid, "app_guid": app["guid"], "parameters": None},
    )
    assert r.status_code == 201, r.text
    binding = r.json()
    assert binding["entity"]["app_guid"] == app["guid"]
    assert binding["entity"]["last_operation"]["state"] == "succeeded"
    again = api.post(
        "/v2/service_bindings?accepts_incomplete=true",
        json={"service_instance_guid": si_guid, "app_guid": app["guid"], "parameters": None},
    )
    _v2_error(again, 400, "CF-ServiceBindingAppServiceTaken")  # the CLI says "already bound", exits 0
    v3_bindings = api.get("/v3/service_credential_bindings", params={"app_guids": app["guid"]}).json()
    assert [b["guid"] for b in v3_bindings["resources"]] == [binding["metadata"]["guid"]]

    # cf services
    summary = api.get(f"/v2/spaces/{space['guid']}/summary")
    assert summary.status_code == 200, summary.text
    s = summary.json()
    assert s["name"] == space["name"]
    (listed_app,) = [a for a in s["apps"] if a["guid"] == app["guid"]]
    assert listed_app["service_names"] == [name]
    (service,) = s["services"]
    assert service["name"] == name
    assert "service_plan" not in service  # what makes the CLI show "user-provided"
    assert isinstance(service["last_operation"]["state"], str)
    services = api.get("/v2/services").json()
    assert services["resources"] == []
    assert services["total_results"] == 0


def test_v2_errors_and_visibility(world: World) -> None:
    org = world.org()
    space = world.space(org)
    api = world.admin
    assert _v2_error(api.get("/v2/spaces/nope/summary"), 404, "CF-SpaceNotFound")["code"] == 40004
    bad = api.post("/v2/service_bindings", json={"service_instance_guid": "nope", "app_guid": "x"})
    assert _v2_error(bad, 404, "CF-ServiceInstanceNotFound")["description"] == (
        "The service instance could not be found: nope"
    )
    r = api.post(
        "/v2/user_provided_service_instances",
        json={"name": unique("ups"), "credentials": {"password": "s3cret"}, "space_guid": space["guid"]},
    )
    assert r.status_code == 201, r.text
    invalid = api.post(
        "/v2/user_provided_service_instances",
        json={"name": unique("ups"), "credentials": "x", "space_guid": space["guid"]},
    )
    assert _v2_error(invalid, 400, "CF-ServiceInstanceInvalid")["description"].endswith("Credentials must be an object")

    auditor: Api = world.as_role("space_auditor", org, space)
    summary = auditor.get(f"/v2/spaces/{space['guid']}/summary")
    assert summary.status_code == 200
    listed = auditor.get(
        f"/v2/spaces/{space['guid']}/service_instances", params={"return_user_provided_service_instances": "true"}
    )
    assert listed.status_code == 200
    assert len(listed.json()["resources"]) == 1
    assert "s3cret" not in listed.text
    outsider: Api = world.as_role("no_role", org, space)
    _v2_error(outsider.get(f"/v2/spaces/{space['guid']}/summary"), 404, "CF-SpaceNotFound")
    refused = auditor.post(
        "/v2/user_provided_service_instances", json={"name": unique("ups"), "space_guid": space["guid"]}
    )
    _v2_error(refused, 403, "CF-NotAuthorized")
    # Nothing else of v2 is served.
    assert api.get("/v2/organizations").status_code == 404


def test_service_as_cli7_shows_a_user_provided_instance(world: World, space: dict[str, Any]) -> None:
    api = world.admin
    app = world.app(space)
    si = api.post(
        "/v3/service_instances",
        json={
            "type": "user-provided",
            "name": unique("ups"),
            "relationships": {"space": {"data": {"guid": space["guid"]}}},
            "credentials": {"password": "s3cret"},
        },
    ).json()
    binding = api.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "name": "named",
            "relationships": {
                "service_instance": {"data": {"guid": si["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    ).json()
    # cf service NAME: the instance by name, its bindings, each bound app.
    (found,) = api.get(
        f"/v2/spaces/{space['guid']}/service_instances",
        params={"q": f"name:{si['name']}", "return_user_provided_service_instances": "true"},
    ).json()["resources"]
    assert found["entity"]["type"] == "user_provided_service_instance"
    bindings = api.get(f"/v2/user_provided_service_instances/{si['guid']}/service_bindings").json()
    (entry,) = bindings["resources"]
    assert entry["metadata"]["guid"] == binding["guid"]
    assert (entry["entity"]["app_guid"], entry["entity"]["name"]) == (app["guid"], "named")
    assert "s3cret" not in str(bindings)
    shown = api.get(f"/v2/apps/{entry['entity']['app_guid']}").json()
    assert shown["entity"]["name"] == app["name"]
    _v2_error(api.get("/v2/apps/nope"), 404, "CF-AppNotFound")
    _v2_error(api.get("/v2/user_provided_service_instances/nope/service_bindings"), 404, "CF-ServiceInstanceNotFound")
