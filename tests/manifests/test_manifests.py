"""Manifests as ``cf push`` (v7 and v8) and ``cf apply-manifest`` send them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support.cf import Api, World, unique

YAML = {"Content-Type": "application/x-yaml"}


def _apply(api: Api, space: dict[str, Any], text: str) -> dict[str, Any]:
    r = api.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text.encode(), headers=YAML)
    assert r.status_code == 202, r.text
    assert r.content == b""
    return api.wait_for_job(r.headers["Location"])


def _app(api: Api, space: dict[str, Any], name: str) -> dict[str, Any]:
    r = api.get("/v3/apps", params={"names": name, "space_guids": space["guid"]})
    (app,) = r.json()["resources"]
    return dict(app)


def _web(api: Api, app: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/v3/apps/{app['guid']}/processes/web").json())


def _route_urls(api: Api, app: dict[str, Any]) -> list[str]:
    return sorted(r["url"] for r in api.get(f"/v3/apps/{app['guid']}/routes").json()["resources"])


def test_push_manifest_creates_the_app_before_the_reply(world: World, space: dict[str, Any]) -> None:
    name = unique("app3")
    r = world.admin.post(
        f"/v3/spaces/{space['guid']}/actions/apply_manifest",
        content=f"applications:\n- name: {name}\n  memory: 128M\n  default-route: true\n".encode(),
        headers=YAML,
    )
    assert r.status_code == 202
    # The CLI looks the app up at once, before the job has run.
    app = _app(world.admin, space, name)
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    web = _web(world.admin, app)
    assert (web["memory_in_mb"], web["instances"], web["health_check"]["type"]) == (128, 1, "port")
    assert _route_urls(world.admin, app) == [f"{name}.apps.localhost"]
    # Applying again keeps one route: default-route only acts on an app with no mappings.
    assert _apply(world.admin, space, f"applications:\n- name: {name}\n  default-route: true\n")["state"] == "COMPLETE"
    assert _route_urls(world.admin, app) == [f"{name}.apps.localhost"]


def test_full_manifest(world: World, space: dict[str, Any]) -> None:
    name = unique("full")
    text = f"""
applications:
- name: {name}
  buildpacks: [python_buildpack]
  env:
    FLAG: true
    EMPTY: null
    NUMBER: 5
  routes:
  - route: {name}-a.apps.localhost
  - route: {name}-b.apps.localhost/api
  disk-quota: 2G
  path: /ignored/by/cc
  processes:
  - type: web
    instances: 2
    memory: 256M
    health-check-type: http
    health-check-http-endpoint: /health
    timeout: 30
  - type: worker
    command: ./work
    instances: 1
    memory: 64M
  metadata:
    labels: {{tier: web}}
"""
    assert _apply(world.admin, space, text)["state"] == "COMPLETE"
    app = _app(world.admin, space, name)
    assert app["lifecycle"]["data"]["buildpacks"] == ["python_buildpack"]
    assert app["metadata"]["labels"] == {"tier": "web"}
    env = world.admin.get(f"/v3/apps/{app['guid']}/environment_variables").json()["var"]
    assert env == {"FLAG": "true", "EMPTY": "", "NUMBER": "5"}
    web = _web(world.admin, app)
    assert (web["instances"], web["memory_in_mb"], web["disk_in_mb"]) == (2, 256, 2048)
    assert web["health_check"] == {
        "type": "http",
        "data": {"timeout": 30, "invocation_timeout": None, "interval": None, "endpoint": "/health"},
    }
    worker = world.admin.get(f"/v3/apps/{app['guid']}/processes/worker").json()
    assert (worker["command"], worker["instances"], worker["memory_in_mb"]) == ("./work", 1, 64)
    assert _route_urls(world.admin, app) == [f"{name}-a.apps.localhost", f"{name}-b.apps.localhost/api"]
    r = world.admin.get(f"/v3/apps/{app['guid']}/manifest")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-yaml")
    (entry,) = yaml.safe_load(r.text)["applications"]
    assert entry["name"] == name
    assert entry["env"] == {"FLAG": "true", "EMPTY": "", "NUMBER": "5"}
    assert [p["type"] for p in entry["processes"]] == ["web", "worker"]
    assert entry["processes"][0]["memory"] == "256M"
    assert {r["route"] for r in entry["routes"]} == {f"{name}-a.apps.localhost", f"{name}-b.apps.localhost/api"}
    # The rendering applies cleanly to a new space and makes the same app.
    other = world.space()
    assert (
        _apply(world.admin, other, yaml.safe_dump({"applications": [{**entry, "routes": []}]}))["state"] == "COMPLETE"
    )
    copy = _app(world.admin, other, name)
    assert _web(world.admin, copy)["memory_in_mb"] == 256


def test_no_route_and_random_route(world: World, space: dict[str, Any]) -> None:
    name = unique("rr")
    assert _apply(world.admin, space, f"applications:\n- name: {name}\n  random-route: true\n")["state"] == "COMPLETE"
    app = _app(world.admin, space, name)
    (url,) = _route_urls(world.admin, app)
    assert url.startswith(f"{name}-") and url.endswith(".apps.localhost")
    assert _apply(world.admin, space, f"applications:\n- name: {name}\n  no-route: true\n")["state"] == "COMPLETE"
    assert _route_urls(world.admin, app) == []


@pytest.mark.parametrize(
    ("text", "status", "detail"),
    [
        ("applications: [", 400, "Request invalid due to parse error: invalid request body"),
        ("- just\n- a list\n", 400, "Request invalid due to parse error: invalid request body"),
        (
            "a: &x 1\nb: *x\napplications: [{name: y}]\n",
            400,
            "Bad request: Manifest does not support Anchors and Aliases",
        ),
        (
            "version: 2\napplications: [{name: y}]\n",
            422,
            "Unsupported manifest schema version. Currently supported versions: [1].",
        ),
        ("foo: bar\n", 422, "Cannot parse manifest with no 'applications' field."),
        (
            "applications:\n- name: m\n  memory: 256\n",
            422,
            "For application 'm': Process \"web\": Memory must use a supported unit: B, K, KB, M, MB, G, GB, T, or TB",
        ),
        (
            "applications:\n- name: m\n  memory: lots\n",
            422,
            "For application 'm': Process \"web\": Memory is not a number",
        ),
        (
            "applications:\n- name: m\n  instances: many\n",
            422,
            "For application 'm': Process \"web\": Instances is not a number",
        ),
        (
            "applications:\n- name: m\n  instances: -1\n",
            422,
            "For application 'm': Process \"web\": Instances must be greater than or equal to 0",
        ),
        (
            "applications:\n- name: m\n  health-check-type: tcp\n",
            422,
            'For application \'m\': Process "web": Health check type must be "port", "process", or "http"',
        ),
        ("applications:\n- memory: 1G\n", 422, "For application at index 0: Name must not be empty"),
        (
            "applications:\n- name: m\n  buildpack: a\n  buildpacks: [b]\n",
            422,
            "For application 'm': Buildpack and Buildpacks fields cannot be used together.",
        ),
        (
            "applications:\n- name: m\n  env: [1]\n",
            422,
            "For application 'm': Env must be an object of keys and values",
        ),
        (
            "applications:\n- name: m\n  services: [{name: db, plan: x}]\n",
            422,
            "For application 'm': Services must be a list of service instances",
        ),
    ],
)
def test_bad_manifests(world: World, space: dict[str, Any], text: str, status: int, detail: str) -> None:
    r = world.admin.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text.encode(), headers=YAML)
    assert r.status_code == status, r.text
    assert r.json()["errors"][0]["detail"] == detail


def test_every_problem_of_every_app_at_once(world: World, space: dict[str, Any]) -> None:
    text = "applications:\n- name: a\n  memory: 1\n  instances: x\n- name: b\n  disk_quota: 1\n"
    r = world.admin.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text.encode(), headers=YAML)
    assert r.status_code == 422
    details = [e["detail"] for e in r.json()["errors"]]
    assert len(details) == 3
    assert all(e["title"] == "CF-UnprocessableEntity" for e in r.json()["errors"])
    assert details[2].startswith("For application 'b': Process \"web\": Disk quota must use a supported unit")


def test_content_type_must_be_yaml(world: World, space: dict[str, Any]) -> None:
    r = world.admin.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", json={"applications": []})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"detail": "Bad request: Content-Type must be yaml", "title": "CF-BadRequest", "code": 1004}
    ]


def test_route_of_another_space_fails_the_job(world: World, org: dict[str, Any]) -> None:
    first, second = world.space(org), world.space(org)
    host = unique("shared")
    assert (
        _apply(world.admin, first, f"applications:\n- name: one\n  routes: [{{route: {host}.apps.localhost}}]\n")[
            "state"
        ]
        == "COMPLETE"
    )
    job = _apply(world.admin, second, f"applications:\n- name: two\n  routes: [{{route: {host}.apps.localhost}}]\n")
    assert job["state"] == "FAILED"
    assert (
        job["errors"][0]["detail"]
        == "For application 'two': Routes cannot be mapped to destinations in different spaces"
    )


def test_roles(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    auditor = world.as_role("space_auditor", org, space)
    developer = world.as_role("space_developer", org, space)
    text = f"applications:\n- name: {unique('r')}\n".encode()
    r = auditor.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text, headers=YAML)
    assert r.status_code == 403
    outsider = world.as_role("no_role", org, world.space(org))
    r = outsider.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=text, headers=YAML)
    assert r.status_code == 404
    assert r.json()["errors"][0]["detail"] == "Space not found"
    job = _apply(developer, space, text.decode())
    assert job["state"] == "COMPLETE"
    app = world.app(space)
    assert auditor.get(f"/v3/apps/{app['guid']}/manifest").status_code == 403
    assert developer.get(f"/v3/apps/{app['guid']}/manifest").status_code == 200


def test_manifest_diff(world: World, space: dict[str, Any]) -> None:
    name = unique("diff")
    _apply(world.admin, space, f"applications:\n- name: {name}\n  env: {{A: '1'}}\n")
    r = world.admin.post(
        f"/v3/spaces/{space['guid']}/manifest_diff",
        content=f"applications:\n- name: {name}\n  env: {{A: '2', B: x}}\n- name: {unique('new')}\n".encode(),
        headers=YAML,
    )
    assert r.status_code == 201, r.text
    diff = r.json()["diff"]
    assert {"op": "replace", "path": "/applications/0/env/A", "was": "1", "value": "2"} in diff
    assert {"op": "add", "path": "/applications/0/env/B", "value": "x"} in diff
    assert any(op["op"] == "add" and op["path"] == "/applications/1" for op in diff)
