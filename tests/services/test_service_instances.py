"""User-provided service instances and their bindings over ``/v3``, as the cf CLI v8 uses them.

Field types are asserted as the CLI decodes them (Go structs: strings, arrays, objects), and
every role of Cloud Controller's matrix is a real user with real roles.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ladle.db.models import AuditEvent, Label
from tests.support.cf import ROLES, Api, World, unique

CREDENTIALS = {"uri": "postgres://u:s3cret@db.example:5432/x", "port": 5432, "nested": {"ok": True}}


def _ups(api: Api, space: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "type": "user-provided",
        "name": unique("ups"),
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        "credentials": CREDENTIALS,
        **fields,
    }
    r = api.post("/v3/service_instances", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _bind(api: Api, instance: dict[str, Any], app: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "type": "app",
        "relationships": {
            "service_instance": {"data": {"guid": instance["guid"]}},
            "app": {"data": {"guid": app["guid"]}},
        },
        **fields,
    }
    r = api.post("/v3/service_credential_bindings", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_user_provided_instance_as_cf8_cups_sends(world: World, space: dict[str, Any]) -> None:
    # cf8 create-user-provided-service NAME -p '{...}' -t "a,b" -l URL -r URL
    body = {
        "type": "user-provided",
        "name": "my-db",
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        "credentials": CREDENTIALS,
        "tags": ["a", "b"],
        "syslog_drain_url": "syslog://logs.example:514",
        "route_service_url": "https://rs.example",
    }
    r = world.admin.post("/v3/service_instances", json=body)
    assert r.status_code == 201, r.text
    si = r.json()
    assert list(si) == [
        "guid",
        "created_at",
        "updated_at",
        "name",
        "tags",
        "last_operation",
        "type",
        "syslog_drain_url",
        "route_service_url",
        "relationships",
        "metadata",
        "links",
    ]
    assert si["type"] == "user-provided"
    assert si["tags"] == ["a", "b"]
    assert si["syslog_drain_url"] == "syslog://logs.example:514"
    assert si["route_service_url"] == "https://rs.example"
    assert si["last_operation"]["type"] == "create"
    assert si["last_operation"]["state"] == "succeeded"
    assert si["last_operation"]["description"] == "Operation succeeded"
    assert isinstance(si["last_operation"]["updated_at"], str)
    assert si["relationships"]["space"]["data"]["guid"] == space["guid"]
    assert "credentials" not in si  # never in the resource itself
    assert si["links"]["credentials"]["href"].endswith(f"/v3/service_instances/{si['guid']}/credentials")
    assert si["links"]["service_credential_bindings"]["href"].endswith(
        f"/v3/service_credential_bindings?service_instance_guids={si['guid']}"
    )

    creds = world.admin.get(f"/v3/service_instances/{si['guid']}/credentials")
    assert creds.status_code == 200
    assert creds.json() == CREDENTIALS

    again = world.admin.post("/v3/service_instances", json=body)
    assert again.status_code == 422
    assert again.json()["errors"][0]["detail"] == "The service instance name is taken: my-db."


def test_tags_are_always_an_array(world: World, space: dict[str, Any]) -> None:
    si = _ups(world.admin, space)
    assert si["tags"] == []
    assert si["syslog_drain_url"] is None
    assert si["route_service_url"] is None


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"credentials": "x"}, "Credentials must be an object"),
        ({"route_service_url": "http://rs.example"}, "Route service url must be https"),
        ({"syslog_drain_url": "not a uri"}, "Syslog drain url must be a valid URI"),
        ({"tags": [1]}, "Tags must be a list of strings"),
        ({"type": "other"}, "Type must be one of 'managed', 'user-provided'"),
        ({"name": ""}, "Name can't be blank"),
        ({"bogus": 1}, "Unknown field(s): 'bogus'"),
        ({"metadata": {"labels": {"k": "a b"}}}, "Metadata label value error: 'a b' contains invalid characters"),
    ],
)
def test_bad_creates_lose_nothing(world: World, space: dict[str, Any], fields: dict[str, Any], detail: str) -> None:
    name = unique("bad")
    body = {
        "type": "user-provided",
        "name": name,
        "relationships": {"space": {"data": {"guid": space["guid"]}}},
        **fields,
    }
    r = world.admin.post("/v3/service_instances", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"].count(detail) == 1  # said once
    listed = world.admin.get("/v3/service_instances", params={"space_guids": space["guid"]}).json()
    assert listed["pagination"]["total_results"] == 0


def test_managed_instances_need_a_plan_that_cannot_exist(world: World, space: dict[str, Any]) -> None:
    body = {
        "type": "managed",
        "name": unique("m"),
        "relationships": {
            "space": {"data": {"guid": space["guid"]}},
            "service_plan": {"data": {"guid": "nope"}},
        },
    }
    r = world.admin.post("/v3/service_instances", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"].startswith("Invalid service plan.")


def test_update_rewrites_bound_credentials_and_delete_unbinds(world: World, space: dict[str, Any]) -> None:
    si = _ups(world.admin, space)
    app = world.app(space)
    binding = _bind(world.admin, si, app)
    r = world.admin.patch(
        f"/v3/service_instances/{si['guid']}",
        json={"credentials": {"uri": "new"}, "tags": ["t"], "name": "renamed-" + si["name"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["last_operation"]["type"] == "update"
    assert r.json()["tags"] == ["t"]
    details = world.admin.get(f"/v3/service_credential_bindings/{binding['guid']}/details").json()
    assert details == {"credentials": {"uri": "new"}}
    env = world.admin.get(f"/v3/apps/{app['guid']}/env").json()
    entry = env["system_env_json"]["VCAP_SERVICES"]["user-provided"][0]
    assert entry["instance_name"] == "renamed-" + si["name"]
    assert entry["credentials"] == {"uri": "new"}

    assert world.admin.delete(f"/v3/service_instances/{si['guid']}").status_code == 204
    assert world.admin.get(f"/v3/service_instances/{si['guid']}").status_code == 404
    assert world.admin.get(f"/v3/service_credential_bindings/{binding['guid']}").status_code == 404
    env = world.admin.get(f"/v3/apps/{app['guid']}/env").json()
    assert env["system_env_json"]["VCAP_SERVICES"] == {}


def test_bind_as_cf8_bind_service_sends(world: World, space: dict[str, Any]) -> None:
    si = _ups(world.admin, space, tags=["pg"])
    app = world.app(space)
    # cf8 bind-service APP SI: the two look-ups, then the binding.
    found = world.admin.get(
        "/v3/service_instances", params={"names": si["name"], "space_guids": space["guid"], "per_page": 1, "page": 1}
    ).json()
    assert [r["guid"] for r in found["resources"]] == [si["guid"]]
    apps = world.admin.get("/v3/apps", params={"names": app["name"], "space_guids": space["guid"]}).json()
    assert apps["resources"][0]["guid"] == app["guid"]
    r = world.admin.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "name": "db-binding",
            "relationships": {
                "service_instance": {"data": {"guid": si["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    )
    assert r.status_code == 201, r.text
    assert "Location" not in r.headers  # synchronous: the CLI polls only when one comes back
    b = r.json()
    assert list(b) == [
        "guid",
        "created_at",
        "updated_at",
        "name",
        "type",
        "last_operation",
        "metadata",
        "relationships",
        "links",
    ]
    assert b["type"] == "app"
    assert b["name"] == "db-binding"
    assert b["last_operation"]["state"] == "succeeded"
    assert b["relationships"]["app"]["data"]["guid"] == app["guid"]
    assert b["links"]["details"]["href"].endswith(f"/v3/service_credential_bindings/{b['guid']}/details")

    twice = world.admin.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "relationships": {
                "service_instance": {"data": {"guid": si["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    )
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["detail"] == "The app is already bound to the service instance"

    env = world.admin.get(f"/v3/apps/{app['guid']}/env").json()
    assert env["system_env_json"]["VCAP_SERVICES"] == {
        "user-provided": [
            {
                "name": "db-binding",
                "instance_guid": si["guid"],
                "instance_name": si["name"],
                "binding_guid": b["guid"],
                "binding_name": "db-binding",
                "credentials": CREDENTIALS,
                "syslog_drain_url": None,
                "volume_mounts": [],
                "label": "user-provided",
                "tags": ["pg"],
            }
        ]
    }


def test_cf8_services_and_service_listing(world: World, space: dict[str, Any]) -> None:
    si = _ups(world.admin, space)
    lonely = _ups(world.admin, space)
    app = world.app(space)
    _bind(world.admin, si, app)
    # cf8 services
    r = world.admin.get(
        "/v3/service_instances",
        params={
            "space_guids": space["guid"],
            "order_by": "name",
            "per_page": 5000,
            "fields[service_plan]": "guid,name,relationships.service_offering",
            "fields[service_plan.service_offering]": "guid,name,relationships.service_broker",
            "fields[service_plan.service_offering.service_broker]": "guid,name",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["name"] for x in body["resources"]] == sorted([si["name"], lonely["name"]])
    assert body["included"] == {"service_plans": [], "service_offerings": [], "service_brokers": []}
    bindings = world.admin.get(
        "/v3/service_credential_bindings",
        params={"include": "app", "service_instance_guids": f"{si['guid']},{lonely['guid']}"},
    ).json()
    assert [b["relationships"]["service_instance"]["data"]["guid"] for b in bindings["resources"]] == [si["guid"]]
    assert [a["name"] for a in bindings["included"]["apps"]] == [app["name"]]

    bad = world.admin.get("/v3/service_instances", params={"fields[space]": "nope"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["detail"] == (
        "The query parameter is invalid: "
        "Fields valid keys for 'space' are: 'guid', 'name', 'relationships.organization'"
    )
    spaces = world.admin.get(f"/v3/service_instances/{si['guid']}", params={"fields[space]": "name,guid"}).json()[
        "included"
    ]["spaces"]
    assert spaces == [{"guid": space["guid"], "name": space["name"]}]


def test_marketplace_is_honestly_empty(world: World) -> None:
    # cf marketplace, logged in or not.
    path = "/v3/service_plans?include=service_offering&fields[service_offering.service_broker]=name,guid"
    for api in (world.admin, world.api()):
        r = api.get(path)
        assert r.status_code == 200, r.text
        assert r.json()["resources"] == []
        assert r.json()["pagination"]["total_results"] == 0
        assert r.json()["pagination"]["total_pages"] == 1
    assert world.api().get("/v3/service_offerings").json()["resources"] == []
    assert world.admin.get("/v3/service_brokers").json()["resources"] == []
    assert world.api().get("/v3/service_brokers").status_code == 401
    typo = world.api().get("/v3/service_plans?service_offering_nmes=x")
    assert typo.status_code == 400
    v3 = world.api().get("/v3").json()["links"]
    for name in ("service_instances", "service_credential_bindings", "service_offerings", "service_plans"):
        assert name in v3


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[str, Any]:
    org = world.org()
    space = world.space(org)
    si = _ups(world.admin, space)
    app = world.app(space)
    binding = _bind(world.admin, si, app)
    apis = {role: world.as_role(role, org, space) for role in ROLES}
    return {"space": space, "si": si, "app": app, "binding": binding, "apis": apis}


SEES = {
    "space_developer",
    "space_manager",
    "space_auditor",
    "space_supporter",
    "org_manager",
    "admin",
    "admin_read_only",
    "global_auditor",
}
SECRETS = {"space_developer", "admin", "admin_read_only"}


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_instances_and_credentials(matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    si, binding = matrix["si"], matrix["binding"]
    show = api.get(f"/v3/service_instances/{si['guid']}")
    assert show.status_code == (200 if role in SEES else 404)
    listed = api.get("/v3/service_instances", params={"space_guids": matrix["space"]["guid"]}).json()
    assert len(listed["resources"]) == (1 if role in SEES else 0)
    creds = api.get(f"/v3/service_instances/{si['guid']}/credentials")
    expected = 200 if role in SECRETS else (403 if role in SEES else 404)
    assert creds.status_code == expected, creds.text
    assert ("s3cret" in creds.text) == (role in SECRETS)
    details = api.get(f"/v3/service_credential_bindings/{binding['guid']}/details")
    assert details.status_code == (200 if role in SECRETS else 404)
    assert ("s3cret" in details.text) == (role in SECRETS)
    env = api.get(f"/v3/apps/{matrix['app']['guid']}/env")
    assert "s3cret" not in env.text or role in SECRETS


@pytest.mark.parametrize("role", ROLES)
def test_who_may_create_and_bind(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    space = matrix["space"]
    body = {"type": "user-provided", "name": unique("r"), "relationships": {"space": {"data": {"guid": space["guid"]}}}}
    r = api.post("/v3/service_instances", json=body)
    if role in {"admin", "space_developer"}:
        assert r.status_code == 201, r.text
    elif role in SEES:
        assert r.status_code == 403, r.text
    else:
        assert r.status_code == 422, r.text
    app = world.app(space)
    bind = api.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "relationships": {
                "service_instance": {"data": {"guid": matrix["si"]["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    )
    if role in {"admin", "space_developer", "space_supporter"}:
        assert bind.status_code == 201, bind.text
    elif role in SEES:
        assert bind.status_code == 403, bind.text
    else:
        assert bind.status_code == 422
        assert (
            bind.json()["errors"][0]["detail"] == f"The service instance could not be found: '{matrix['si']['guid']}'"
        )


def test_audit_events_never_hold_credentials(world: World, space: dict[str, Any]) -> None:
    si = _ups(world.admin, space)
    app = world.app(space)
    binding = _bind(world.admin, si, app)
    world.admin.get(f"/v3/service_instances/{si['guid']}/credentials")
    world.admin.delete(f"/v3/service_credential_bindings/{binding['guid']}")
    with world.server.deps.db.session() as s:
        rows = s.execute(
            select(AuditEvent.type, AuditEvent.data, AuditEvent.target_guid)
            .where(AuditEvent.space_guid == space["guid"])
            .order_by(AuditEvent.id)
        ).all()
    types = [t for t, _, _ in rows if t.startswith("audit.service") or t.startswith("audit.user_provided")]
    assert types == [
        "audit.user_provided_service_instance.create",
        "audit.service_binding.create",
        "audit.user_provided_service_instance.show",
        "audit.service_binding.delete",
    ]
    assert all("s3cret" not in str(data) for _, data, _ in rows)
    create = next(d for t, d, _ in rows if t == "audit.user_provided_service_instance.create")
    assert create["request"]["credentials"] == "[REDACTED]"


def test_cf8_service_shows_one_instance(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    si = _ups(world.admin, space, tags=["t"])
    app = world.app(space)
    binding = _bind(world.admin, si, app, name="b1")
    # cf8 service NAME
    r = world.admin.get(
        "/v3/service_instances",
        params={
            "names": si["name"],
            "space_guids": space["guid"],
            "fields[service_plan]": "name,guid",
            "fields[service_plan.service_offering]": "name,guid,description,tags,documentation_url",
            "fields[service_plan.service_offering.service_broker]": "name,guid",
            "fields[space]": "name,guid",
            "fields[space.organization]": "name,guid",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["guid"] for x in body["resources"]] == [si["guid"]]
    assert body["included"]["spaces"] == [{"guid": space["guid"], "name": space["name"]}]
    assert body["included"]["organizations"] == [{"name": org["name"], "guid": org["guid"]}]
    bound = world.admin.get(
        "/v3/service_credential_bindings",
        params={"include": "app", "service_instance_guids": si["guid"], "type": "app"},
    ).json()
    assert [b["guid"] for b in bound["resources"]] == [binding["guid"]]
    assert bound["resources"][0]["name"] == "b1"
    assert [a["guid"] for a in bound["included"]["apps"]] == [app["guid"]]
    bad_type = world.admin.get("/v3/service_credential_bindings", params={"type": "route"})
    assert bad_type.status_code == 400


YAML = {"Content-Type": "application/x-yaml"}


def _apply(world: World, space: dict[str, Any], text: str) -> dict[str, Any]:
    r = world.admin.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text.encode(), headers=YAML)
    assert r.status_code == 202, r.text
    return world.admin.wait_for_job(r.headers["Location"])


def test_manifest_services_bind(world: World, space: dict[str, Any]) -> None:
    db = _ups(world.admin, space, name="Zeta-db")
    cache = _ups(world.admin, space, name="alpha-cache")
    name = unique("m")
    text = f"applications:\n- name: {name}\n  services:\n  - Zeta-db\n  - name: alpha-cache\n    binding_name: cache\n"
    assert _apply(world, space, text)["state"] == "COMPLETE"
    (app,) = world.admin.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"]
    bindings = world.admin.get("/v3/service_credential_bindings", params={"app_guids": app["guid"]}).json()
    by_instance = {b["relationships"]["service_instance"]["data"]["guid"]: b for b in bindings["resources"]}
    assert set(by_instance) == {db["guid"], cache["guid"]}
    assert by_instance[cache["guid"]]["name"] == "cache"
    assert by_instance[db["guid"]]["name"] is None

    # Applying it again keeps the bindings as they are.
    assert _apply(world, space, text)["state"] == "COMPLETE"
    again = world.admin.get("/v3/service_credential_bindings", params={"app_guids": app["guid"]}).json()
    assert sorted(b["guid"] for b in again["resources"]) == sorted(by_instance[g]["guid"] for g in by_instance)

    manifest = world.admin.get(f"/v3/apps/{app['guid']}/manifest").text
    assert "services:\n  - alpha-cache\n  - Zeta-db\n" in manifest

    missing = _apply(world, space, f"applications:\n- name: {name}\n  services: [nope]\n")
    assert missing["state"] == "FAILED"
    assert missing["errors"][0]["detail"] == f"For application '{name}': Service instance 'nope' not found"
    params = world.admin.post(
        f"/v3/spaces/{space['guid']}/actions/apply_manifest",
        content=f"applications:\n- name: {name}\n  services: [{{name: x, plan: y}}]\n".encode(),
        headers=YAML,
    )
    assert params.status_code == 422
    assert params.json()["errors"][0]["detail"] == (
        f"For application '{name}': Services must be a list of service instances"
    )


def test_binding_labels_and_what_deleting_an_app_or_space_takes(world: World) -> None:
    org = world.org()
    space = world.space(org)
    si = _ups(world.admin, space, metadata={"labels": {"tier": "db"}})
    app = world.app(space)
    binding = _bind(world.admin, si, app)
    r = world.admin.patch(
        f"/v3/service_credential_bindings/{binding['guid']}", json={"metadata": {"labels": {"env": "prod"}}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["labels"] == {"env": "prod"}
    found = world.admin.get("/v3/service_credential_bindings", params={"label_selector": "env=prod"}).json()
    assert [b["guid"] for b in found["resources"]] == [binding["guid"]]

    r = world.admin.delete(f"/v3/apps/{app['guid']}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/service_credential_bindings/{binding['guid']}").status_code == 404
    assert world.admin.get(f"/v3/service_instances/{si['guid']}").status_code == 200

    r = world.admin.delete(f"/v3/spaces/{space['guid']}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/service_instances/{si['guid']}").status_code == 404
    with world.server.deps.db.session() as s:
        left = s.scalars(select(Label.resource_guid).where(Label.resource_guid.in_([si["guid"], binding["guid"]])))
        assert list(left) == []  # their labels went with them


@pytest.mark.parametrize("role", ROLES)
def test_who_may_update_unbind_and_delete(world: World, matrix: dict[str, Any], role: str) -> None:
    api: Api = matrix["apis"][role]
    space = matrix["space"]
    si = _ups(world.admin, space)
    binding = _bind(world.admin, si, world.app(space))
    writes = role in {"admin", "space_developer"}
    expected = 200 if writes else (403 if role in SEES else 404)
    r = api.patch(f"/v3/service_instances/{si['guid']}", json={"tags": ["changed"]})
    assert r.status_code == expected, r.text
    assert world.admin.get(f"/v3/service_instances/{si['guid']}").json()["tags"] == (["changed"] if writes else [])
    unbinds = role in {"admin", "space_developer", "space_supporter"}
    r = api.delete(f"/v3/service_credential_bindings/{binding['guid']}")
    assert r.status_code == (204 if unbinds else (403 if role in SEES else 404)), r.text
    r = api.delete(f"/v3/service_instances/{si['guid']}")
    assert r.status_code == (204 if writes else (403 if role in SEES else 404)), r.text
    assert world.admin.get(f"/v3/service_instances/{si['guid']}").status_code == (404 if writes else 200)
