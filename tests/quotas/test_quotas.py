"""Organization and space quotas as ``cf create-quota``/``set-quota``/``quota`` and the space
quota commands drive them, and their limits as scaling, starting and route creation meet them."""

from __future__ import annotations

from typing import Any

from tests.processes.helpers import deployable_app
from tests.support.cf import World, unique


def _quota_shape(quota: dict[str, Any]) -> None:
    """The keys and JSON types the cf CLI decodes (resources/quota_resource.go)."""
    for key in ("total_memory_in_mb", "per_process_memory_in_mb", "total_instances", "per_app_tasks"):
        assert quota["apps"][key] is None or isinstance(quota["apps"][key], int)
    assert isinstance(quota["services"]["paid_services_allowed"], bool)
    for key in ("total_routes", "total_reserved_ports"):
        assert quota["routes"][key] is None or isinstance(quota["routes"][key], int)


def test_cf_create_quota_set_quota_and_quota(world: World) -> None:
    name = unique("quota")
    # `cf create-quota NAME -m 1G -i 512M -a 3 -r 10 --allow-paid-service-plans`: unset flags are
    # left out, "unlimited" ones are null.
    body = {
        "name": name,
        "apps": {"total_memory_in_mb": 1024, "per_process_memory_in_mb": 512, "total_instances": 3},
        "services": {"paid_services_allowed": True, "total_service_instances": None},
        "routes": {"total_routes": 10},
    }
    r = world.admin.post("/v3/organization_quotas", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert list(created) == [
        "guid",
        "created_at",
        "updated_at",
        "name",
        "apps",
        "services",
        "routes",
        "domains",
        "relationships",
        "links",
    ]
    assert created["apps"] == {
        "total_memory_in_mb": 1024,
        "per_process_memory_in_mb": 512,
        "total_instances": 3,
        "per_app_tasks": None,
        "log_rate_limit_in_bytes_per_second": None,
    }
    assert created["services"] == {
        "paid_services_allowed": True,
        "total_service_instances": None,
        "total_service_keys": None,
    }
    assert created["routes"] == {"total_routes": 10, "total_reserved_ports": None}
    assert created["relationships"] == {"organizations": {"data": []}}
    _quota_shape(created)
    again = world.admin.post("/v3/organization_quotas", json={"name": name})
    assert again.status_code == 422
    assert again.json()["errors"][0]["detail"] == f"Organization Quota '{name}' already exists."

    # `cf set-quota ORG QUOTA`: look both up by name, then apply.
    org = world.org()
    found = world.admin.get("/v3/organizations", params={"names": org["name"]}).json()["resources"]
    quotas = world.admin.get("/v3/organization_quotas", params={"names": name}).json()["resources"]
    assert [q["guid"] for q in quotas] == [created["guid"]]
    r = world.admin.post(
        f"/v3/organization_quotas/{created['guid']}/relationships/organizations",
        json={"data": [{"guid": found[0]["guid"]}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [{"guid": org["guid"]}]
    assert r.json()["links"]["self"]["href"].endswith(
        f"/v3/organization_quotas/{created['guid']}/relationships/organizations"
    )
    shown = world.admin.get(f"/v3/organizations/{org['guid']}").json()
    assert shown["relationships"]["quota"]["data"] == {"guid": created["guid"]}

    # `cf quota NAME` / `cf update-quota`.
    r = world.admin.patch(f"/v3/organization_quotas/{created['guid']}", json={"apps": {"total_instances": None}})
    assert r.status_code == 200 and r.json()["apps"]["total_instances"] is None
    assert r.json()["apps"]["total_memory_in_mb"] == 1024  # what was not named is kept

    # Deleting a quota still applied is refused; once unused it goes in a job.
    r = world.admin.delete(f"/v3/organization_quotas/{created['guid']}")
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"].startswith("This quota is applied to one or more organizations.")


def test_quota_bodies_are_validated_with_cf_wording(world: World) -> None:
    cases = [
        ({"name": "q", "apps": {"total_instances": -1}}, "Apps Total instances must be greater than or equal to 0"),
        ({"name": "q", "apps": {"total_memory_in_mb": 1.5}}, "Apps Total memory in mb must be an integer"),
        (
            {"name": "q", "services": {"paid_services_allowed": "yes"}},
            "Services Paid services allowed must be a boolean",
        ),
        ({"name": "q", "apps": {"colour": 1}}, "Apps Unknown field(s): 'colour'"),
        ({"apps": {}}, "Name can't be blank"),
        ({"name": "q", "size": 1}, "Unknown field(s): 'size'"),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/organization_quotas", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["detail"] == detail
    org = world.org()
    space = world.space(org)
    api = world.as_role("space_developer", org, space)
    r = api.post("/v3/organization_quotas", json={"name": unique("q")})
    assert r.status_code == 403
    # Anyone may read organization quotas; only visible orgs are named in them.
    default = api.get("/v3/organization_quotas", params={"names": "default"}).json()["resources"][0]
    assert {"guid": org["guid"]} in default["relationships"]["organizations"]["data"]
    other = world.org()
    assert {"guid": other["guid"]} not in default["relationships"]["organizations"]["data"]


def test_cf_create_space_quota_and_set_space_quota(world: World) -> None:
    org = world.org()
    space = world.space(org)
    name = unique("squota")
    body = {
        "name": name,
        "relationships": {"organization": {"data": {"guid": org["guid"]}}},
        "apps": {"total_memory_in_mb": 2048, "total_instances": 4},
        "services": {"paid_services_allowed": False},
        "routes": {"total_routes": 1},
    }
    manager = world.as_role("org_manager", org, space)
    r = manager.post("/v3/space_quotas", json=body)
    assert r.status_code == 201, r.text
    quota = r.json()
    assert list(quota) == [
        "guid",
        "created_at",
        "updated_at",
        "name",
        "apps",
        "services",
        "routes",
        "relationships",
        "links",
    ]
    assert quota["relationships"] == {"organization": {"data": {"guid": org["guid"]}}, "spaces": {"data": []}}
    assert quota["services"]["paid_services_allowed"] is False
    _quota_shape(quota)
    r = manager.post("/v3/space_quotas", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == f"Space Quota '{name}' already exists."

    # `cf set-space-quota SPACE QUOTA`.
    found = manager.get("/v3/space_quotas", params={"names": name, "organization_guids": org["guid"]}).json()
    assert [q["guid"] for q in found["resources"]] == [quota["guid"]]
    r = manager.post(f"/v3/space_quotas/{quota['guid']}/relationships/spaces", json={"data": [{"guid": space["guid"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [{"guid": space["guid"]}]
    shown = world.admin.get(f"/v3/spaces/{space['guid']}").json()
    assert shown["relationships"]["quota"]["data"] == {"guid": quota["guid"]}
    # `cf space` as a developer of that space reads the quota.
    developer = world.as_role("space_developer", org, space)
    assert developer.get(f"/v3/space_quotas/{quota['guid']}").status_code == 200
    other_org = world.org()
    stranger = world.as_role("space_developer", other_org, world.space(other_org))
    assert stranger.get(f"/v3/space_quotas/{quota['guid']}").status_code == 404
    assert developer.post("/v3/space_quotas", json={**body, "name": unique("s")}).status_code == 403

    # A space of another org cannot take it.
    elsewhere = world.space()
    r = manager.post(
        f"/v3/space_quotas/{quota['guid']}/relationships/spaces", json={"data": [{"guid": elsewhere["guid"]}]}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        f'Spaces with guids ["{elsewhere["guid"]}"] do not exist within the organization specified, '
        "or you do not have access to them."
    )

    # The space's route limit holds: one route, and the second is refused.
    domain = world.admin.get("/v3/domains").json()["resources"][0]
    route = {
        "host": unique("h"),
        "relationships": {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}},
    }
    assert world.admin.post("/v3/routes", json=route).status_code == 201
    r = world.admin.post("/v3/routes", json={**route, "host": unique("h")})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == f"Routes quota exceeded for space '{space['name']}'."

    # `cf unset-space-quota`, then delete.
    r = manager.delete(f"/v3/space_quotas/{quota['guid']}/relationships/spaces/{space['guid']}")
    assert r.status_code == 204
    assert world.admin.get(f"/v3/spaces/{space['guid']}").json()["relationships"]["quota"]["data"] is None
    r = manager.delete(f"/v3/space_quotas/{quota['guid']}")
    assert r.status_code == 202
    assert manager.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert manager.get(f"/v3/space_quotas/{quota['guid']}").status_code == 404


def _org_with_quota(world: World, **apps: int) -> tuple[dict[str, Any], dict[str, Any]]:
    r = world.admin.post("/v3/organization_quotas", json={"name": unique("q"), "apps": apps})
    assert r.status_code == 201, r.text
    org = world.org()
    org = world.admin.get(f"/v3/organizations/{org['guid']}").json()
    r = world.admin.post(
        f"/v3/organization_quotas/{r.json()['guid']}/relationships/organizations",
        json={"data": [{"guid": org["guid"]}]},
    )
    assert r.status_code == 200, r.text
    return org, world.space(org)


def test_scaling_past_the_org_instance_limit_is_refused_and_changes_nothing(world: World) -> None:
    _, space = _org_with_quota(world, total_instances=3)
    first = deployable_app(world, space)
    second = deployable_app(world, space)
    for app in (first, second):
        assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    scale = f"/v3/apps/{first['guid']}/processes/web/actions/scale"
    assert world.admin.post(scale, json={"instances": 2}).status_code == 202
    before = world.admin.get(f"/v3/apps/{first['guid']}/processes/web").json()
    r = world.admin.post(scale, json={"instances": 3, "memory_in_mb": 256})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "detail": "app_instance_limit app_instance_limit_exceeded",
            "title": "CF-UnprocessableEntity",
            "code": 10008,
        }
    ]
    after = world.admin.get(f"/v3/apps/{first['guid']}/processes/web").json()
    assert (after["instances"], after["memory_in_mb"], after["updated_at"]) == (
        before["instances"],
        before["memory_in_mb"],
        before["updated_at"],
    )
    # A stopped app does not count: stop the second and the first may grow.
    assert world.admin.post(f"/v3/apps/{second['guid']}/actions/stop").status_code == 200
    assert world.admin.post(scale, json={"instances": 3}).status_code == 202
    # Starting the second again would go past the limit.
    r = world.admin.post(f"/v3/apps/{second['guid']}/actions/start")
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "app_instance_limit app_instance_limit_exceeded"
    assert world.admin.get(f"/v3/apps/{second['guid']}").json()["state"] == "STOPPED"


def test_memory_limits_of_org_and_space(world: World) -> None:
    org, space = _org_with_quota(world, total_memory_in_mb=2048, per_process_memory_in_mb=1024)
    app = deployable_app(world, space)
    g = app["guid"]
    assert world.admin.post(f"/v3/apps/{g}/actions/start").status_code == 200
    scale = f"/v3/apps/{g}/processes/web/actions/scale"
    r = world.admin.post(scale, json={"memory_in_mb": 2048})
    assert r.json()["errors"][0]["detail"] == "memory instance_memory_limit_exceeded"
    r = world.admin.post(scale, json={"instances": 3})
    assert r.status_code == 422 and r.json()["errors"][0]["detail"] == "memory quota_exceeded"
    assert world.admin.post(scale, json={"instances": 2}).status_code == 202
    # Scaling down is always allowed.
    assert world.admin.post(scale, json={"instances": 1}).status_code == 202
    # A space quota adds its own, with its own names.
    r = world.admin.post(
        "/v3/space_quotas",
        json={
            "name": unique("sq"),
            "relationships": {
                "organization": {"data": {"guid": org["guid"]}},
                "spaces": {"data": [{"guid": space["guid"]}]},
            },
            "apps": {"total_memory_in_mb": 512},
        },
    )
    assert r.status_code == 201, r.text
    r = world.admin.post(scale, json={"instances": 3})
    assert r.json()["errors"][0]["detail"] == "memory space_quota_exceeded, memory quota_exceeded"


def test_task_limit_counts_the_orgs_running_tasks(world: World) -> None:
    _, space = _org_with_quota(world, per_app_tasks=1)
    app = deployable_app(world, space)
    tasks = f"/v3/apps/{app['guid']}/tasks"
    first = world.admin.post(tasks, json={"command": "sleep 100"})
    assert first.status_code == 202, first.text
    r = world.admin.post(tasks, json={"command": "sleep 100"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "app_task_limit app_task_limit_exceeded"
    assert len(world.admin.get(tasks).json()["resources"]) == 1  # nothing was added
    # Once the first ends, another may run.
    assert world.admin.post(f"/v3/tasks/{first.json()['guid']}/actions/cancel").status_code == 202
    assert world.admin.post(tasks, json={"command": "sleep 100"}).status_code == 202


def test_a_manifest_cannot_scale_past_the_limit(world: World) -> None:
    _, space = _org_with_quota(world, total_instances=2)
    app = deployable_app(world, space)
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    manifest = f"applications:\n- name: {app['name']}\n  instances: 5\n"
    r = world.admin.post(
        f"/v3/spaces/{space['guid']}/actions/apply_manifest",
        content=manifest.encode(),
        headers={"Content-Type": "application/x-yaml"},
    )
    assert r.status_code == 202, r.text
    job = world.admin.wait_for_job(r.headers["Location"])
    assert job["state"] == "FAILED"
    assert job["errors"][0]["detail"] == (
        f"For application '{app['name']}': app_instance_limit app_instance_limit_exceeded"
    )
    assert world.admin.get(f"/v3/apps/{app['guid']}/processes/web").json()["instances"] == 1


def test_a_deployment_beyond_the_quota_says_whose_quota(world: World) -> None:
    org, space = _org_with_quota(world, total_instances=2)
    app = deployable_app(world, space)
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    body = {"relationships": {"app": {"data": {"guid": app["guid"]}}}, "options": {"web_instances": 3}}
    r = world.admin.post("/v3/deployments", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"] == (
        f"app_instance_limit app_instance_limit_exceeded for organization {org['name']}. This organization's "
        "quota may not be large enough to support rolling deployments or your configured max-in-flight."
    )
    assert world.admin.get(f"/v3/apps/{app['guid']}/processes/web").json()["instances"] == 1
    assert world.admin.get("/v3/deployments", params={"app_guids": app["guid"]}).json()["resources"] == []


def test_private_domains_are_limited_by_the_org_quota(world: World) -> None:
    r = world.admin.post("/v3/organization_quotas", json={"name": unique("q"), "domains": {"total_domains": 1}})
    assert r.status_code == 201, r.text
    org = world.org()
    r = world.admin.post(
        f"/v3/organization_quotas/{r.json()['guid']}/relationships/organizations",
        json={"data": [{"guid": org["guid"]}]},
    )
    assert r.status_code == 200
    owner = {"organization": {"data": {"guid": org["guid"]}}}
    first = world.admin.post("/v3/domains", json={"name": f"{unique('a')}.example.org", "relationships": owner})
    assert first.status_code == 201, first.text
    r = world.admin.post("/v3/domains", json={"name": f"{unique('b')}.example.org", "relationships": owner})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        f'The number of private domains exceeds the quota for organization "{org["name"]}"'
    )


def test_starting_an_app_counts_all_its_processes(world: World) -> None:
    _, space = _org_with_quota(world, total_instances=3)
    app = deployable_app(world, space, process_types={"web": "./server.sh", "worker": "./server.sh"})
    g = app["guid"]
    r = world.admin.post(f"/v3/apps/{g}/processes/worker/actions/scale", json={"instances": 2})
    assert r.status_code == 202, r.text
    r = world.admin.post(f"/v3/apps/{g}/processes/web/actions/scale", json={"instances": 2})
    assert r.status_code == 202, r.text
    # Stopped, both fit alone; started together they make four.
    r = world.admin.post(f"/v3/apps/{g}/actions/start")
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "app_instance_limit app_instance_limit_exceeded"
    processes = world.admin.get(f"/v3/apps/{g}/processes").json()["resources"]
    assert world.admin.get(f"/v3/apps/{g}").json()["state"] == "STOPPED"
    assert {p["type"]: p["instances"] for p in processes} == {"web": 2, "worker": 2}
