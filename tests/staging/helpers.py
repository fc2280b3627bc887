"""Driving a staging through the API: admin buildpacks, packages with bits, builds, droplets."""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.archives import make_zip
from tests.support.buildpacks import write_buildpack, zip_directory
from tests.support.cf import Api, World, unique
from tests.support.waiting import wait_until

FINAL_BUILD = {"STAGED", "FAILED"}


def admin_buildpack(
    world: World,
    tmp: Path,
    scripts: dict[str, str],
    *,
    name: str | None = None,
    position: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Create and upload an admin buildpack; returns its JSON once READY."""
    name = name or unique("bp").replace("-", "_")
    body: dict[str, Any] = {"name": name, **extra}
    if position is not None:
        body["position"] = position
    created = world.admin.post("/v3/buildpacks", json=body)
    assert created.status_code == 201, created.text
    guid = created.json()["guid"]
    directory = write_buildpack(tmp / name, scripts)
    r = world.admin.post(
        f"/v3/buildpacks/{guid}/upload", files={"bits": (f"{name}.zip", zip_directory(directory), "application/zip")}
    )
    assert r.status_code == 202, r.text
    job = world.admin.wait_for_job(r.headers["location"])
    assert job["state"] == "COMPLETE", job
    return dict(world.admin.get(f"/v3/buildpacks/{guid}").json())


def ready_package(world: World, app: dict[str, Any], files: dict[str, str | bytes], api: Api | None = None) -> str:
    api = api or world.admin
    package = api.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    r = api.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("package.zip", make_zip(files))})
    assert r.status_code == 200, r.text
    ready = api.wait_for(f"/v3/packages/{package['guid']}", lambda p: p["state"] in {"READY", "FAILED"}, timeout=30)
    assert ready["state"] == "READY", ready
    return str(package["guid"])


def marker_processes(marker: str) -> list[str]:
    """Pids of processes whose command line holds ``marker``."""
    result = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return result.stdout.split()


def wait_until_gone(marker: str, timeout: float = 10) -> None:
    wait_until(lambda: not marker_processes(marker), timeout=timeout, message=f"processes matching {marker} survived")


def wait_until_running(marker: str, timeout: float = 30) -> None:
    wait_until(lambda: marker_processes(marker), timeout=timeout, message=f"no process matching {marker} started")


def wait_for_build(api: Api, guid: str, timeout: float = 120) -> dict[str, Any]:
    return api.wait_for(f"/v3/builds/{guid}", lambda build: build["state"] in FINAL_BUILD, timeout)


def stage(world: World, package_guid: str, api: Api | None = None, **body: Any) -> dict[str, Any]:
    api = api or world.admin
    r = api.post("/v3/builds", json={"package": {"guid": package_guid}, **body})
    assert r.status_code == 201, r.text
    return wait_for_build(api, r.json()["guid"])


def docker_build(world: World, app: dict[str, Any], image: str, **credentials: str) -> dict[str, Any]:
    """What ``cf push --docker-image`` sends first: a docker package of ``image`` for ``app``,
    then a build of it; the build as created."""
    package = world.admin.post(
        "/v3/packages",
        json={
            "type": "docker",
            "data": {"image": image, **credentials},
            "relationships": {"app": {"data": {"guid": app["guid"]}}},
        },
    )
    assert package.status_code == 201, package.text
    r = world.admin.post("/v3/builds", json={"package": {"guid": package.json()["guid"]}})
    assert r.status_code == 201, r.text
    return dict(r.json())


@dataclass
class DropletTar:
    files: dict[str, bytes]
    directories: set[str]

    def __contains__(self, name: str) -> bool:
        return name in self.files or name in self.directories

    def __getitem__(self, name: str) -> bytes:
        return self.files[name]


def droplet_members(world: World, droplet_guid: str) -> DropletTar:
    """The downloaded droplet tarball's regular files (with content) and directories."""
    r = world.admin.get(f"/v3/droplets/{droplet_guid}/download")
    assert r.status_code == 200, r.text
    out = DropletTar({}, set())
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                out.files[member.name] = handle.read()
            elif member.isdir():
                out.directories.add(member.name)
    return out
