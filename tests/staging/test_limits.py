"""Stagings that must be stopped: timeout, cancel, memory and disk limits. Nothing may outlive them."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.staging.helpers import (
    droplet_members,
    ready_package,
    wait_for_build,
    wait_until_gone,
    wait_until_running,
)
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import World
from tests.support.server import run_server

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    overrides = {
        "staging_timeout": 4,
        "staging_min_disk_mb": 32,
        "max_app_disk_mb": 32,
        "staging_min_memory_mb": 256,
        "default_app_disk_mb": 32,
        "default_app_memory_mb": 256,
    }
    with run_server("sqlite", tmp_path_factory.mktemp("limited"), "unused", **overrides) as running:
        yield World(running)


def start(world: World, tmp_path: Path, compile_script: str, **body: object) -> tuple[str, str]:
    bp = write_buildpack(tmp_path / "bp", {"compile": compile_script, "release": RELEASE})
    app = world.app()
    package = ready_package(world, app, {"run": "true\n"})
    r = world.admin.post(
        "/v3/builds",
        json={
            "package": {"guid": package},
            "lifecycle": {"type": "buildpack", "data": {"buildpacks": [git_repository(bp)]}},
            **body,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["guid"], app["guid"]


def test_timeout_kills_the_whole_tree(limited: World, tmp_path: Path) -> None:
    marker = f"ladle-timeout-{uuid.uuid4().hex}"
    # A child and a grandchild, both asleep: the deadline must take all of them.
    build, _ = start(
        limited, tmp_path, f'(sleep 300 && echo {marker}) &\nbash -c "exec -a {marker} sleep 300" &\nsleep 300\n'
    )
    result = wait_for_build(limited.admin, build, timeout=30)
    assert (result["state"], result["error"]) == ("FAILED", "StagingTimeExpired - Staging time expired: staging failed")
    wait_until_gone(marker)
    assert "Staging timed out after 4 seconds" in limited.admin.get(f"/v3/builds/{build}/logs").text


def test_cancel(limited: World, tmp_path: Path) -> None:
    marker = f"ladle-cancel-{uuid.uuid4().hex}"
    build, app = start(limited, tmp_path, f'echo started\nbash -c "exec -a {marker} sleep 300"\n')
    wait_until_running(marker, timeout=20)
    r = limited.admin.post(f"/v3/builds/{build}/actions/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "FAILED"
    assert r.json()["error"] == "StagingError - Staging error: staging was cancelled by admin"
    wait_until_gone(marker)
    again = limited.admin.post(f"/v3/builds/{build}/actions/cancel")
    assert (again.status_code, again.json()["errors"][0]["detail"]) == (
        422,
        "Only a build that is STAGING can be cancelled.",
    )
    droplets = limited.admin.get(f"/v3/apps/{app}/droplets").json()["resources"]
    assert [d["state"] for d in droplets] == ["FAILED"]


def test_disk_limit(limited: World, tmp_path: Path) -> None:
    build, _ = start(limited, tmp_path, 'head -c 100000000 /dev/zero > "$1/big.bin"; sleep 30\n')
    result = wait_for_build(limited.admin, build, timeout=30)
    assert (result["state"], result["error"]) == ("FAILED", "StagingError - Staging error: disk quota exceeded")
    assert result["staging_disk_in_mb"] == 32


def test_memory_limit(limited: World, tmp_path: Path) -> None:
    # Enforced by the staging's own cgroup (this machine mounts the cgroup v1 memory controller).
    build, _ = start(
        limited, tmp_path, 'python3 -c "x = bytearray(600 * 1024 * 1024); x[::4096] = b\\"1\\" * len(x[::4096])"\n'
    )
    result = wait_for_build(limited.admin, build, timeout=30)
    assert (result["state"], result["error"]) == ("FAILED", "StagingError - Staging error: memory limit exceeded")
    assert result["staging_memory_in_mb"] == 256


def test_disk_request_above_the_maximum(limited: World, tmp_path: Path) -> None:
    app = limited.app()
    package = ready_package(limited, app, {"run": "x"})
    r = limited.admin.post("/v3/builds", json={"package": {"guid": package}, "staging_disk_in_mb": 64})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "disk limit exceeded")


def test_without_isolation_scripts_run_as_plain_processes(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Where bubblewrap is missing (or turned off) staging still works, as the server's own user,
    # on the host's paths, and still within the timeout that kills the whole tree.
    with run_server(
        "sqlite", tmp_path_factory.mktemp("plain"), "unused", staging_isolation=False, staging_timeout=4
    ) as running:
        world = World(running)
        tmp = tmp_path_factory.mktemp("plainbp")
        build, _ = start(world, tmp, 'id -u > "$1/uid.txt"\necho "$1" > "$1/where.txt"\n')
        result = wait_for_build(world.admin, build, timeout=30)
        assert result["state"] == "STAGED", result["error"]
        members = droplet_members(world, result["droplet"]["guid"])
        assert members["./app/uid.txt"] == f"{os.getuid()}\n".encode()
        assert members["./app/where.txt"].decode().startswith(str(running.settings.scratch_dir))

        marker = f"ladle-plain-{uuid.uuid4().hex}"
        build, _ = start(
            world, tmp_path_factory.mktemp("plainbp"), f'bash -c "exec -a {marker} sleep 300" &\nsleep 300\n'
        )
        result = wait_for_build(world.admin, build, timeout=30)
        assert result["error"] == "StagingTimeExpired - Staging time expired: staging failed"
        wait_until_gone(marker)


def test_without_bubblewrap_staging_is_refused_unless_the_operator_opts_out(
    limited: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every tool staging uses is there, except bubblewrap.
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("sh", "bash", "unzip", "git", "tar", "gzip", "pigz", "prlimit", "nsenter", "setpriv", "unshare"):
        if (found := shutil.which(name)) is not None:
            (tools / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    build, _ = start(limited, tmp_path, "true\n")
    result = wait_for_build(limited.admin, build, timeout=30)
    assert (result["state"], result["error"]) == (
        "FAILED",
        "StagingError - Staging error: buildpacks cannot be run in a sandbox on this server",
    )
    log = limited.admin.get(f"/v3/builds/{build}/logs").text
    assert "bubblewrap (bwrap) is not installed" in log
    assert "set LADLE_STAGING_ISOLATION=false to run it as plain processes" in log
