"""Environment variable groups (``cf set-running-environment-variable-group``) and what staging
and ``/v3/apps/:guid/env`` see of them and of bindings.

The groups are global, so these tests run on a server of their own (``flags_world``) and put
the groups back as they found them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.staging.helpers import droplet_members, ready_package, stage
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import World, unique

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'
# A buildpack that keeps what staging saw in the droplet (never in the log: it holds credentials).
COMPILE = (
    'printf "%s" "$VCAP_SERVICES" > "$1/seen_vcap_services.json"\n'
    'printf "%s|%s" "${GROUP_ONLY:-}" "${SHADOWED:-}" > "$1/seen_vars"\n'
)


@pytest.fixture
def groups(flags_world: World) -> Iterator[World]:
    yield flags_world
    for name in ("running", "staging"):
        current = flags_world.admin.get(f"/v3/environment_variable_groups/{name}").json()["var"]
        flags_world.admin.patch(f"/v3/environment_variable_groups/{name}", json={"var": dict.fromkeys(current)})


def _set_group_as_cf7(world: World, name: str, new: dict[str, str]) -> dict[str, Any]:
    """What ``cf set-<name>-environment-variable-group JSON`` sends: a read, then every old
    variable missing from the new set as null."""
    r = world.admin.get(f"/v3/environment_variable_groups/{name}")
    assert r.status_code == 200, r.text
    body = {"var": {**dict.fromkeys(r.json()["var"]), **new}}
    r = world.admin.patch(f"/v3/environment_variable_groups/{name}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_groups_as_the_cli_sets_them(groups: World) -> None:
    world = groups
    shown = world.admin.get("/v3/environment_variable_groups/running").json()
    assert list(shown) == ["updated_at", "name", "var", "links"]
    assert shown["name"] == "running"
    assert isinstance(shown["updated_at"], str)
    assert shown["links"]["self"]["href"].endswith("/v3/environment_variable_groups/running")

    first = _set_group_as_cf7(world, "running", {"A": "1", "B": "2"})
    assert first["var"] == {"A": "1", "B": "2"}
    second = _set_group_as_cf7(world, "running", {"B": "3"})
    assert second["var"] == {"B": "3"}  # A was sent as null and removed

    assert world.admin.get("/v3/environment_variable_groups/other").status_code == 404
    bad = world.admin.patch("/v3/environment_variable_groups/running", json={"var": {"VCAP_X": "1"}})
    assert bad.status_code == 422
    assert world.admin.get("/v3/environment_variable_groups/running").json()["var"] == {"B": "3"}

    org = world.org()
    space = world.space(org)
    developer = world.as_role("space_developer", org, space)
    assert developer.get("/v3/environment_variable_groups/staging").status_code == 200
    refused = developer.patch("/v3/environment_variable_groups/running", json={"var": {"C": "1"}})
    assert refused.status_code == 403
    assert world.admin.get("/v3/environment_variable_groups/running").json()["var"] == {"B": "3"}


def test_staging_sees_the_staging_group_and_bindings(groups: World, tmp_path: Path) -> None:
    world = groups
    _set_group_as_cf7(world, "staging", {"GROUP_ONLY": "from-group", "SHADOWED": "group"})
    _set_group_as_cf7(world, "running", {"RUNNING_ONLY": "r"})
    space = world.space()
    app = world.app(space, environment_variables={"SHADOWED": "app"})
    instance = world.admin.post(
        "/v3/service_instances",
        json={
            "type": "user-provided",
            "name": unique("ups"),
            "relationships": {"space": {"data": {"guid": space["guid"]}}},
            "credentials": {"password": "pa55"},
            "tags": ["t1"],
        },
    ).json()
    binding = world.admin.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "relationships": {
                "service_instance": {"data": {"guid": instance["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    ).json()

    env = world.admin.get(f"/v3/apps/{app['guid']}/env").json()
    assert env["staging_env_json"] == {"GROUP_ONLY": "from-group", "SHADOWED": "group"}
    assert env["running_env_json"] == {"RUNNING_ONLY": "r"}

    buildpack = git_repository(write_buildpack(tmp_path / "bp", {"compile": COMPILE, "release": RELEASE}))
    package = ready_package(world, app, {"run": "#!/bin/sh\n"})
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": [buildpack]}})
    assert build["state"] == "STAGED", build["error"]
    files = droplet_members(world, build["droplet"]["guid"])
    seen = {name.rsplit("/", 1)[-1]: content for name, content in files.files.items()}
    # The app's own variable wins over the group's.
    assert seen["seen_vars"] == b"from-group|app"
    assert json.loads(seen["seen_vcap_services.json"]) == {
        "user-provided": [
            {
                "name": instance["name"],
                "instance_guid": instance["guid"],
                "instance_name": instance["name"],
                "binding_guid": binding["guid"],
                "binding_name": None,
                "credentials": {"password": "pa55"},
                "syslog_drain_url": None,
                "volume_mounts": [],
                "label": "user-provided",
                "tags": ["t1"],
            }
        ]
    }
    log = world.admin.get(f"/v3/builds/{build['guid']}").text
    assert "pa55" not in log
