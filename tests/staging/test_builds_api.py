"""``/v3/builds`` rules, the seeds' staging endpoint, logs, and many stagings at once."""

from __future__ import annotations

import base64
import concurrent.futures
import json
from pathlib import Path
from typing import Any

import httpx

from tests.staging.helpers import admin_buildpack, droplet_members, ready_package, stage, wait_for_build
from tests.support.buildpacks import git_repository, write_buildpack, zip_directory
from tests.support.cf import World

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'


def url_buildpack(tmp_path: Path, name: str = "bp", compile_script: str = "true\n") -> str:
    return git_repository(write_buildpack(tmp_path / name, {"compile": compile_script, "release": RELEASE}))


def test_create_rules(world: World, tmp_path: Path) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    package = world.admin.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    r = world.admin.post("/v3/builds", json={"package": {"guid": package["guid"]}})
    assert r.status_code == 400
    assert r.json()["errors"][0] == {
        "detail": "Bad request: Cannot stage package whose state is not ready.",
        "title": "CF-BadRequest",
        "code": 1004,
    }
    cases = [
        (
            {},
            "Package guid can't be blank, Package guid must be a string, "
            "Package guid must be between 1 and 200 characters",
        ),
        ({"package": {"guid": "x"}, "staging_memory_in_mb": 0}, "Staging memory in mb must be greater than 0"),
        ({"package": {"guid": "x"}, "staging_disk_in_mb": "big"}, "Staging disk in mb is not a number"),
        ({"package": {"guid": "x"}, "color": "red"}, "Unknown field(s): 'color'"),
        (
            {"package": {"guid": "nope"}},
            "Unable to use package. Ensure that the package exists and you have access to it.",
        ),
        (
            {"package": {"guid": "x"}, "lifecycle": {"type": "kpack", "data": {}}},
            "Lifecycle type is not included in the list: buildpack, docker, cnb",
        ),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/builds", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["detail"] == detail
    ready = ready_package(world, app, {"run": "x"})
    bad_stack = world.admin.post(
        "/v3/builds", json={"package": {"guid": ready}, "lifecycle": {"type": "buildpack", "data": {"stack": "nope"}}}
    )
    assert (bad_stack.status_code, bad_stack.json()["errors"][0]["detail"]) == (422, "Stack must be an existing stack")
    # Only managers of apps may stage: a space manager is told the package is unusable (422).
    manager = world.as_role("space_manager", org, space)
    r = manager.post("/v3/builds", json={"package": {"guid": ready}})
    assert r.status_code == 422
    supporter = world.as_role("space_supporter", org, space)
    # An admin buildpack: file:// URLs (all the tests' URL buildpacks) are for admins only.
    slow = admin_buildpack(world, tmp_path, {"compile": "sleep 2\n", "release": RELEASE})
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [slow["name"]]}}
    first = supporter.post("/v3/builds", json={"package": {"guid": ready}, "lifecycle": lifecycle})
    assert first.status_code == 201, first.text
    assert first.json()["created_by"]["name"] is not None
    second = world.admin.post("/v3/builds", json={"package": {"guid": ready}, "lifecycle": lifecycle})
    assert second.status_code == 422
    assert second.json()["errors"][0] == {
        "detail": "Only one build can be STAGING at a time per application.",
        "title": "CF-StagingInProgress",
        "code": 170017,
    }
    assert wait_for_build(world.admin, first.json()["guid"])["state"] == "STAGED"


def test_lists_and_visibility(world: World, tmp_path: Path) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    package = ready_package(world, app, {"run": "x"})
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": [url_buildpack(tmp_path)]}})
    listed = world.admin.get("/v3/builds", params={"app_guids": app["guid"], "states": "STAGED"}).json()
    assert [b["guid"] for b in listed["resources"]] == [build["guid"]]
    assert [b["guid"] for b in world.admin.get(f"/v3/apps/{app['guid']}/builds").json()["resources"]] == [build["guid"]]
    assert world.admin.get("/v3/builds", params={"package_guids": "nope"}).json()["resources"] == []
    outsider = world.as_role("no_role", org, space)
    assert outsider.get(f"/v3/builds/{build['guid']}").json()["errors"][0]["detail"] == "Build not found"
    assert outsider.get("/v3/builds").json()["resources"] == []
    r = world.admin.patch(f"/v3/builds/{build['guid']}", json={"metadata": {"labels": {"k": "v"}}})
    assert r.status_code == 200 and r.json()["metadata"]["labels"] == {"k": "v"}
    r = world.admin.patch(f"/v3/builds/{build['guid']}", json={"state": "FAILED"})
    assert r.status_code == 403  # only the build state updater scope may set a state

    droplets = world.admin.get(f"/v3/apps/{app['guid']}/droplets").json()["resources"]
    assert droplets[0]["execution_metadata"] == "[PRIVATE DATA HIDDEN IN LISTS]"
    assert droplets[0]["process_types"] == {"redacted_message": "[PRIVATE DATA HIDDEN IN LISTS]"}
    auditor = world.as_role("space_auditor", org, space)
    single = auditor.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert single["process_types"] == {"redacted_message": "[PRIVATE DATA HIDDEN]"}
    current = world.admin.get(f"/v3/apps/{app['guid']}/droplets", params={"current": "yes"})
    assert (
        current.json()["errors"][0]["detail"] == "The query parameter is invalid: Current only accepts the value 'true'"
    )
    assert world.admin.get(f"/v3/packages/{package}/droplets").json()["resources"][0]["guid"] == droplets[0]["guid"]


def test_seed_staging_request_2016_form(world: World, tmp_path: Path) -> None:
    created = world.admin.post("/v3/stacks", json={"name": "cflinuxfs2"})  # no other test makes this stack
    assert created.status_code == 201, created.text
    bp = write_buildpack(
        tmp_path / "awesome", {"compile": 'echo "$CUSTOM_ENV_VAR" > "$1/custom.txt"\n', "release": RELEASE}
    )
    app = world.app()
    package = ready_package(world, app, {"run": "x"})
    body = {
        "environment_variables": {"CUSTOM_ENV_VAR": "hello"},
        "lifecycle": {"type": "buildpack", "data": {"buildpack": git_repository(bp), "stack": "cflinuxfs2"}},
    }
    # Sent as the seed sends it: JSON under a form content type.
    r = world.admin.post(
        f"/v3/packages/{package}/droplets",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 201, r.text
    droplet = r.json()
    assert droplet["state"] == "STAGING"
    assert droplet["lifecycle"] == {"type": "buildpack", "data": {}}
    assert droplet["staging_memory_in_mb"] == 1024 and droplet["staging_disk_in_mb"] == 4096
    env = droplet["environment_variables"]
    assert env["CUSTOM_ENV_VAR"] == "hello"
    assert env["CF_STACK"] == "cflinuxfs2"
    # The seed shows megabytes as a number; buildpacks read "<n>m" (test_staging_environment_and_sandbox).
    assert env["MEMORY_LIMIT"] == 1024
    assert env["VCAP_SERVICES"] == {}
    assert env["VCAP_APPLICATION"]["application_id"] == app["guid"]
    assert env["VCAP_APPLICATION"]["limits"] == {"fds": 16384, "mem": 1024, "disk": 4096}
    assert droplet["links"]["package"]["href"].endswith(f"/v3/packages/{package}")
    state = world.admin.wait_for(f"/v3/droplets/{droplet['guid']}", lambda d: d["state"] != "STAGING")
    assert state["state"] == "STAGED", state
    assert droplet_members(world, droplet["guid"])["./app/custom.txt"] == b"hello\n"
    listed = world.admin.get(f"/v3/packages/{package}/droplets").json()["resources"]
    assert [d["guid"] for d in listed] == [droplet["guid"]]


def test_seed_staging_request_2015_form_and_its_rules(world: World, tmp_path: Path) -> None:
    created = world.admin.post("/v3/stacks", json={"name": "trusty64"})  # no other test makes this stack
    assert created.status_code == 201, created.text
    app = world.app()
    package = ready_package(world, app, {"run": "x"})
    for env, detail in [
        ({"CF_FOO": "1"}, "Staging environment variables cannot start with CF_"),
        ({"VCAP_FOO": "1"}, "Staging environment variables cannot start with VCAP_"),
        ({"PORT": "8080"}, "Staging environment variables cannot set PORT"),
    ]:
        r = world.admin.post(f"/v3/packages/{package}/droplets", json={"staging_environment_variables": env})
        assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, detail)
    r = world.admin.post(
        f"/v3/packages/{package}/droplets",
        json={
            "buildpack_git_url": url_buildpack(tmp_path),
            "stack": "trusty64",
            "memory_limit": 2048,
            "disk_limit": 4096,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["staging_memory_in_mb"] == 2048
    assert r.json()["environment_variables"]["CF_STACK"] == "trusty64"
    both = world.admin.post(
        f"/v3/packages/{package}/droplets", json={"buildpack_git_url": "https://x/y", "buildpack_guid": "z"}
    )
    assert both.status_code == 422


def test_staging_logs_for_log_cache_and_live_stream(world: World, tmp_path: Path) -> None:
    script = 'for i in 1 2 3; do echo "line $i"; sleep 0.3; done\necho "to stderr" >&2\n'
    app = world.app()
    package = ready_package(world, app, {"run": "x"})
    r = world.admin.post(
        "/v3/builds",
        json={
            "package": {"guid": package},
            "lifecycle": {
                "type": "buildpack",
                "data": {"buildpacks": [url_buildpack(tmp_path, compile_script=script)]},
            },
        },
    )
    build = r.json()["guid"]
    # Follow the staging live, as `curl -N` would: the stream ends when the build does.
    with httpx.stream(
        "GET",
        f"{world.server.url}/v3/builds/{build}/logs",
        headers={"Authorization": world.admin.http.headers["Authorization"]},
        timeout=60,
    ) as response:
        assert response.headers["content-type"].startswith("text/plain")
        lines = [line for line in response.iter_lines() if line]
    assert wait_for_build(world.admin, build)["state"] == "STAGED"
    messages = [line.split(" ", 3)[3] for line in lines]
    assert messages[messages.index("line 1") : messages.index("line 1") + 3] == ["line 1", "line 2", "line 3"]
    assert any(line.endswith("ERR to stderr") for line in lines)
    assert all(" [STG/0] " in line for line in lines)

    info = httpx.get(f"{world.server.url}/api/v1/info").json()
    assert set(info) == {"version", "vm_uptime"}
    root = httpx.get(f"{world.server.url}/").json()["links"]["log_cache"]
    assert root == {"href": world.server.url}
    read = world.admin.get(f"/api/v1/read/{app['guid']}", params={"envelope_types": "LOG", "limit": 1000}).json()
    batch = read["envelopes"]["batch"]
    payloads = [base64.b64decode(e["log"]["payload"]).decode() for e in batch]
    assert payloads == messages
    stamps = [int(e["timestamp"]) for e in batch]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert {e["tags"]["source_type"] for e in batch} == {"STG"}
    assert {e["log"]["type"] for e in batch} == {"OUT", "ERR"}
    newest = world.admin.get(f"/api/v1/read/{app['guid']}", params={"descending": "true", "limit": 1}).json()
    assert [int(e["timestamp"]) for e in newest["envelopes"]["batch"]] == [stamps[-1]]
    after = world.admin.get(f"/api/v1/read/{app['guid']}", params={"start_time": stamps[-1] + 1}).json()
    assert after["envelopes"]["batch"] == []
    outsider = world.login_as(world.new_user()[1])
    assert outsider.get(f"/api/v1/read/{app['guid']}").status_code == 404


def test_ten_builds_at_once(world: World, tmp_path: Path) -> None:
    bp = write_buildpack(
        tmp_path / "slowish", {"compile": 'sleep 0.5; cat "$1/id.txt" > "$1/staged-id.txt"\n', "release": RELEASE}
    )
    zipped = tmp_path / "slowish.zip"
    zipped.write_bytes(zip_directory(bp))
    space = world.space()
    apps = [world.app(space) for _ in range(10)]
    packages = [ready_package(world, app, {"id.txt": app["guid"]}) for app in apps]
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [f"file://{zipped}"]}}
    created = [world.admin.post("/v3/builds", json={"package": {"guid": p}, "lifecycle": lifecycle}) for p in packages]
    assert all(r.status_code == 201 for r in created)

    def finish(guid: str) -> dict[str, Any]:
        return wait_for_build(world.admin, guid, timeout=180)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(finish, [r.json()["guid"] for r in created]))
    assert [r["state"] for r in results] == ["STAGED"] * 10
    for app, result in zip(apps, results, strict=True):
        assert droplet_members(world, result["droplet"]["guid"])["./app/staged-id.txt"] == app["guid"].encode()
