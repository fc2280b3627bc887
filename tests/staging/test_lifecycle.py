"""Staging with real buildpacks (bash scripts the tests write), through the API, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ladle.staging.xxhash import key_hash
from tests.staging.helpers import admin_buildpack, droplet_members, ready_package, stage
from tests.support.buildpacks import git_repository, write_buildpack, zip_directory
from tests.support.cf import World, unique
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP

RELEASE_WEB = "cat <<YAML\n---\ndefault_process_types:\n  web: ./start.sh\n  worker: ./work.sh\nYAML\n"


def own_stack(world: World) -> str:
    """A stack of the test's own, so its admin buildpacks are the only ones detection sees."""
    name = unique("stack")
    assert world.admin.post("/v3/stacks", json={"name": name}).status_code == 201
    return name


def app_on(world: World, stack: str, **lifecycle_data: Any) -> dict[str, Any]:
    return world.app(lifecycle={"type": "buildpack", "data": {"stack": stack, **lifecycle_data}})


def test_detect_picks_the_first_matching_buildpack(world: World, tmp_path: Path) -> None:
    stack = own_stack(world)
    never = admin_buildpack(world, tmp_path, {"detect": "exit 1\n", "compile": "exit 9\n"}, stack=stack)
    chosen = admin_buildpack(
        world,
        tmp_path,
        {
            "detect": 'test -f "$1/app.py" && echo "python 3.11"\n',
            "compile": 'echo "compiling in $1"; echo ok > "$1/compiled.txt"; echo cached > "$2/cache.txt"\n',
            "release": RELEASE_WEB,
        },
        stack=stack,
        position=2,
    )
    later = admin_buildpack(
        world, tmp_path, {"detect": "echo me too\n", "compile": "exit 9\n"}, stack=stack, position=3
    )
    listing = world.admin.get("/v3/buildpacks", params={"stacks": stack}).json()["resources"]
    assert [b["name"] for b in listing] == [never["name"], chosen["name"], later["name"]]

    app = app_on(world, stack)
    package = ready_package(world, app, {"app.py": "print(1)\n", "start.sh": "python app.py\n"})
    build = stage(world, package)
    base = world.server.url
    droplet_guid = build["droplet"]["guid"]
    assert build == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "state": "STAGED",
        "staging_memory_in_mb": 1024,
        "staging_disk_in_mb": 4096,
        "staging_log_rate_limit_bytes_per_second": -1,
        "error": None,
        "lifecycle": {"type": "buildpack", "data": {"buildpacks": [], "stack": stack}},
        "package": {"guid": package},
        "droplet": {"guid": droplet_guid},
        "created_by": {"guid": ANY_GUID, "name": "admin", "email": "admin"},
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/builds/{build['guid']}"},
            "app": {"href": f"{base}/v3/apps/{app['guid']}"},
            "droplet": {"href": f"{base}/v3/droplets/{droplet_guid}"},
        },
    }
    droplet = world.admin.get(f"/v3/droplets/{droplet_guid}").json()
    assert droplet["state"] == "STAGED"
    assert droplet["buildpacks"] == [
        {"name": chosen["name"], "detect_output": "python 3.11", "buildpack_name": "python 3.11", "version": None}
    ]
    assert droplet["process_types"] == {"web": "./start.sh", "worker": "./work.sh"}
    assert droplet["stack"] == stack
    assert droplet["execution_metadata"] == ""
    assert droplet["checksum"]["type"] == "sha256" and len(droplet["checksum"]["value"]) == 64
    assert droplet["links"]["download"] == {"href": f"{base}/v3/droplets/{droplet_guid}/download"}
    assert droplet["links"]["package"] == {"href": f"{base}/v3/packages/{package}"}

    members = droplet_members(world, droplet_guid)
    assert members["./app/compiled.txt"] == b"ok\n"
    assert members["./app/start.sh"] == b"python app.py\n"
    assert json.loads(members["./staging_info.yml"]) == {
        "detected_buildpack": "python 3.11",
        "start_command": "./start.sh",
    }
    for directory in ("./tmp", "./logs", "./profile.d", "./deps"):
        assert directory in members.directories
    # The legacy compile path removes the final buildpack's deps directory.
    assert "./deps/0" not in members


def test_multi_buildpack_supply_and_finalize(world: World, tmp_path: Path) -> None:
    supplier = write_buildpack(
        tmp_path / "supplier",
        {
            "supply": (
                'echo "supply build=$1 idx=$4"\n'
                'mkdir -p "$3/$4/bin" && echo "#!/bin/sh" > "$3/$4/bin/tool"\n'
                'printf "name: supplier\\nversion: 1.2.3\\n" > "$3/$4/config.yml"\n'
                'printf "processes:\\n- type: helper\\n  command: tool --serve\\n" > "$3/$4/launch.yml"\n'
                'echo "supply cache" > "$2/marker"\n'
            )
        },
    )
    supply_zip = tmp_path / "supplier.zip"
    supply_zip.write_bytes(zip_directory(supplier, prefix="supplier-main/"))  # one top-level folder
    final_dir = write_buildpack(
        tmp_path / "final",
        {
            "supply": 'echo "final supply idx=$4"\n',
            "finalize": (
                'echo "finalize $0 $* pwd=$PWD" > "$1/finalize-args.txt"\n'
                'test -f "$3/0/bin/tool"\n'
                'echo "export FROM_FINALIZE=1" > "$5/final.sh"\n'
                'printf "name: finalizer\\nversion: 9.9\\n'
                'config:\\n  entrypoint_prefix: exec-wrapper\\n" > "$3/$4/config.yml"\n'
            ),
            "release": 'printf "default_process_types:\\n  web: ./server\\n"\n',
        },
    )
    git_url = git_repository(final_dir, branch="stable")
    app = world.app()
    package = ready_package(world, app, {"server": "#!/bin/sh\n"})
    buildpacks = [f"file://{supply_zip}", f"{git_url}#stable"]
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": buildpacks}})
    assert build["state"] == "STAGED", build["error"]
    assert build["lifecycle"]["data"]["buildpacks"] == buildpacks
    droplet = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["buildpacks"] == [
        {"name": buildpacks[0], "detect_output": None, "buildpack_name": "supplier", "version": "1.2.3"},
        {"name": buildpacks[1], "detect_output": None, "buildpack_name": "finalizer", "version": "9.9"},
    ]
    # launch.yml from the supplier adds a process; the final buildpack's release adds web.
    assert droplet["process_types"] == {"helper": "tool --serve", "web": "./server"}
    members = droplet_members(world, build["droplet"]["guid"])
    assert members["./deps/0/bin/tool"] == b"#!/bin/sh\n"
    assert members["./profile.d/final.sh"] == b"export FROM_FINALIZE=1\n"
    # Scripts see the builder's directories, not wherever Ladle keeps them.
    final_home = f"/tmp/buildpacks/{key_hash(buildpacks[1])}"
    assert members["./app/finalize-args.txt"].decode() == (
        f"finalize {final_home}/bin/finalize /tmp/app /tmp/cache/final /tmp/contents/deps 1 /tmp/contents/profile.d "
        "pwd=/tmp/app\n"
    )
    assert json.loads(members["./staging_info.yml"]) == {
        "detected_buildpack": "finalizer",
        "start_command": "./server",
        "config": {"entrypoint_prefix": "exec-wrapper"},
    }


def test_procfile_wins_over_release(world: World, tmp_path: Path) -> None:
    bp = write_buildpack(tmp_path / "bp", {"compile": "true\n", "release": RELEASE_WEB})
    url = git_repository(bp)
    app = world.app()
    package = ready_package(world, app, {"Procfile": "web: bundle exec puma\nclock: ./clock\n"})
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": [url]}})
    assert build["state"] == "STAGED", build["error"]
    droplet = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["process_types"] == {"web": "bundle exec puma", "worker": "./work.sh", "clock": "./clock"}
    staging_info = droplet_members(world, build["droplet"]["guid"])["./staging_info.yml"]
    assert json.loads(staging_info)["start_command"] == "bundle exec puma"


@pytest.mark.parametrize(
    ("scripts", "files", "error"),
    [
        (
            {"detect": "exit 1\n", "compile": "true\n"},
            {},
            "NoAppDetectedError - An app was not successfully detected by any available buildpack",
        ),
        (
            {"detect": "echo yes\n", "compile": 'echo "boom" >&2; exit 3\n', "release": RELEASE_WEB},
            {},
            "BuildpackCompileFailed - App staging failed in the buildpack compile phase",
        ),
        (
            {"detect": "echo yes\n", "compile": "true\n", "release": "echo 'default_process_types: [unclosed'\n"},
            {},
            "BuildpackReleaseFailed - App staging failed in the buildpack release phase",
        ),
        (
            {"detect": "echo yes\n", "compile": "true\n", "release": "exit 1\n"},
            {},
            "BuildpackReleaseFailed - App staging failed in the buildpack release phase",
        ),
        (
            {"detect": "echo yes\n", "compile": "true\n", "release": RELEASE_WEB},
            {"Procfile": "web: [not: yaml"},
            "StagingError - Staging error: staging failed",
        ),
        (
            {"detect": "echo yes\n", "compile": "true\n", "release": "echo '--- {}'\n"},
            {},
            "StagingError - Staging error: Start command not specified",
        ),
    ],
    ids=["detect-fails", "compile-fails", "release-bad-yaml", "release-fails", "procfile-bad-yaml", "no-start-command"],
)
def test_staging_failures(
    world: World, tmp_path: Path, scripts: dict[str, str], files: dict[str, str], error: str
) -> None:
    stack = own_stack(world)
    admin_buildpack(world, tmp_path, scripts, stack=stack)
    app = app_on(world, stack)
    package = ready_package(world, app, {"app.rb": "puts 1\n", **files})
    build = stage(world, package)
    assert (build["state"], build["error"], build["droplet"]) == ("FAILED", error, None)
    droplets = world.admin.get(f"/v3/apps/{app['guid']}/droplets").json()["resources"]
    assert [(d["state"], d["error"]) for d in droplets] == [("FAILED", error)]


def test_supply_buildpack_without_supply_script(world: World, tmp_path: Path) -> None:
    legacy = write_buildpack(tmp_path / "legacy", {"compile": "true\n"})
    final = write_buildpack(tmp_path / "final", {"finalize": "true\n", "release": RELEASE_WEB})
    app = world.app()
    package = ready_package(world, app, {"a": "b"})
    buildpacks = [git_repository(legacy), git_repository(final)]
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": buildpacks}})
    assert build["error"] == "StagingError - Staging error: staging failed"
    log = world.admin.get(f"/v3/builds/{build['guid']}/logs").text
    assert "does not support multi-buildpack apps" in log


def test_staging_environment_and_sandbox(world: World, tmp_path: Path) -> None:
    data_dir = world.server.settings.data_dir
    bp = write_buildpack(
        tmp_path / "envbp",
        {
            "compile": (
                'env | sort > "$1/staging-env.txt"\n'
                'id -u > "$1/uid.txt"\n'
                # The host is read-only, the buildpack's own files too, and Ladle's data is not even visible.
                'if touch /usr/ladle-escape 2>/dev/null; then echo usr >> "$1/escape.txt"; fi\n'
                'if touch "$(dirname "$0")/escape" 2>/dev/null; then echo buildpack >> "$1/escape.txt"; fi\n'
                f'if ls "{data_dir}/ladle.db" 2>/dev/null; then echo data >> "$1/escape.txt"; fi\n'
            ),
            "release": RELEASE_WEB,
        },
    )
    app = world.app(environment_variables={"APP_VAR": "from-app"})
    package = ready_package(world, app, {"x": "y"})
    build = stage(
        world,
        package,
        lifecycle={"type": "buildpack", "data": {"buildpacks": [git_repository(bp)]}},
        environment_variables={"BUILD_VAR": "from-build"},
        staging_memory_in_mb=2048,
    )
    assert build["state"] == "STAGED", build["error"]
    members = droplet_members(world, build["droplet"]["guid"])
    lines = members["./app/staging-env.txt"].decode().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["APP_VAR"] == "from-app" and env["BUILD_VAR"] == "from-build"
    assert env["CF_STACK"] == "cflinuxfs4"
    assert env["MEMORY_LIMIT"] == "2048m"
    assert env["VCAP_SERVICES"] == "{}"
    assert env["LANG"] == "en_US.UTF-8"
    assert env["CF_INSTANCE_IP"] and env["CF_INSTANCE_GUID"] == build["guid"]
    vcap = json.loads(env["VCAP_APPLICATION"])
    assert vcap["application_id"] == app["guid"] and vcap["application_name"] == app["name"]
    assert vcap["limits"] == {"fds": 16384, "mem": 2048, "disk": 4096}
    assert vcap["version"] == vcap["application_version"]
    assert members["./app/uid.txt"] == b"2000\n"  # the vcap user, in the sandbox
    assert "./app/escape.txt" not in members
    assert not Path("/usr/ladle-escape").exists()


def test_droplets_are_deterministic_and_the_cache_carries_over(world: World, tmp_path: Path) -> None:
    bp = write_buildpack(
        tmp_path / "cachebp",
        {
            "compile": (
                'if [ -f "$2/seen" ]; then echo "cache hit: $(cat "$2/seen")"; fi\n'
                'echo "round" >> "$2/seen"\n'
                'cp "$1/app.py" "$1/copy.py"\n'
            ),
            "release": RELEASE_WEB,
        },
    )
    url = git_repository(bp)
    app = world.app()
    package = ready_package(world, app, {"app.py": "print('same')\n", "sub/data.txt": "d\n"})
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [url]}}
    first = stage(world, package, lifecycle=lifecycle)
    second = stage(world, package, lifecycle=lifecycle)
    assert first["state"] == second["state"] == "STAGED"
    a = world.admin.get(f"/v3/droplets/{first['droplet']['guid']}").json()["checksum"]
    b = world.admin.get(f"/v3/droplets/{second['droplet']['guid']}").json()["checksum"]
    assert a == b  # same inputs, same bytes
    assert "cache hit: round" in world.admin.get(f"/v3/builds/{second['guid']}/logs").text

    r = world.admin.post(f"/v3/apps/{app['guid']}/actions/clear_buildpack_cache")
    assert r.status_code == 202
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"]) == ("app.clear_buildpack_cache", "COMPLETE")
    third = stage(world, package, lifecycle=lifecycle)
    assert "cache hit" not in world.admin.get(f"/v3/builds/{third['guid']}/logs").text
