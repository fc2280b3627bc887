"""Docker apps staged through the API against real registries on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.staging.helpers import docker_build, wait_for_build
from tests.support.cf import World
from tests.support.registry import (
    RunningRegistry,
    image_config,
    make_layer,
    push_image,
    push_index,
    run_registry,
)
from tests.support.server import DATABASES, run_server

LAYER = make_layer({"srv/server": b"#!/bin/sh\n"})
SERVER = {
    "Entrypoint": ["/bin/server"],
    "Cmd": ["--port", "8080"],
    "WorkingDir": "/srv",
    "User": "app",
    "ExposedPorts": {"9000/tcp": {}, "8080/tcp": {}, "53/udp": {}},
}


@dataclass
class DockerWorld:
    world: World
    open: RunningRegistry
    private: RunningRegistry


@pytest.fixture(scope="module", params=DATABASES)
def docker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerWorld]:
    with (
        run_registry(tmp_path_factory.mktemp("open-registry")) as open_registry,
        run_registry(tmp_path_factory.mktemp("token-registry"), auth="token") as private,
    ):
        push_image(open_registry, "team/server", "v1", config=image_config(SERVER, layers=[LAYER]), layers=[LAYER])
        push_index(
            open_registry,
            "team/multi",
            "latest",
            {
                ("linux", "arm64"): image_config({"Cmd": ["arm64"]}, os="linux", architecture="arm64"),
                ("linux", "amd64"): image_config({"Cmd": ["amd64"]}, os="linux", architecture="amd64"),
                ("windows", "amd64"): image_config({"Cmd": ["windows"]}, os="windows", architecture="amd64"),
            },
        )
        push_image(private, "secret/app", "1.0", config=image_config({"Cmd": ["./secret"]}))
        insecure = f"{open_registry.host},{private.host}"
        worker = request.config.workerinput["workerid"] if hasattr(request.config, "workerinput") else "main"
        with run_server(
            request.param,
            tmp_path_factory.mktemp(f"docker-{request.param}"),
            f"ladle_test_docker_{worker}",
            insecure_docker_registries=tuple(insecure.split(",")),
        ) as running:
            world = World(running)
            r = world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True})
            assert r.status_code == 200
            yield DockerWorld(world, open_registry, private)


def _stage(world: World, image: str, **credentials: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = world.app(lifecycle={"type": "docker", "data": {}})
    build = docker_build(world, app, image, **credentials)
    assert build["lifecycle"] == {"type": "docker", "data": {}}
    return app, wait_for_build(world.admin, build["guid"], timeout=60)


def test_public_image_stages_into_a_docker_droplet(docker: DockerWorld) -> None:
    world = docker.world
    image = f"{docker.open.host}/team/server:v1"
    app, build = _stage(world, image)
    assert build["state"] == "STAGED", build["error"]
    droplet = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["lifecycle"] == {"type": "docker", "data": {}}
    assert (droplet["checksum"], droplet["buildpacks"], droplet["stack"]) == (None, None, None)
    assert droplet["image"] == image
    assert droplet["process_types"] == {"web": "/bin/server --port 8080"}
    # The docker builder's encoding: a JSON string, ports sorted, tcp and udp kept, capitalised keys.
    assert json.loads(droplet["execution_metadata"]) == {
        "cmd": ["--port", "8080"],
        "entrypoint": ["/bin/server"],
        "workdir": "/srv",
        "ports": [
            {"Port": 53, "Protocol": "udp"},
            {"Port": 8080, "Protocol": "tcp"},
            {"Port": 9000, "Protocol": "tcp"},
        ],
        "user": "app",
    }
    assert set(droplet["links"]) == {"self", "package", "app", "assign_current_droplet"}
    r = world.admin.get(f"/v3/droplets/{droplet['guid']}/download")
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        422,
        "Cannot download droplets with 'docker' lifecycle.",
    )
    logs = world.admin.get(f"/v3/builds/{build['guid']}/logs").text
    assert f"Staging docker image {image}" in logs and "Staging Complete" in logs

    r = world.admin.patch(
        f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet["guid"]}}
    )
    assert r.status_code == 200, r.text
    web = world.admin.get(f"/v3/apps/{app['guid']}/processes/web").json()
    assert web["command"] == "/bin/server --port 8080"
    assert web["user"] == "app"  # the image's own user

    # Docker droplets copy without a job: there are no bits to copy.
    other = world.app(lifecycle={"type": "docker", "data": {}})
    copy = world.admin.post(
        "/v3/droplets",
        params={"source_guid": droplet["guid"]},
        json={"relationships": {"app": {"data": {"guid": other["guid"]}}}},
    )
    assert copy.status_code == 201 and copy.json()["state"] == "STAGED" and copy.json()["image"] == image
    # The image of a staged docker droplet may be changed by an admin.
    patched = world.admin.patch(f"/v3/droplets/{droplet['guid']}", json={"image": f"{docker.open.host}/team/server:v2"})
    assert patched.status_code == 200 and patched.json()["image"] == f"{docker.open.host}/team/server:v2"


def test_index_picks_linux_amd64(docker: DockerWorld) -> None:
    _, build = _stage(docker.world, f"{docker.open.host}/team/multi")
    assert build["state"] == "STAGED", build["error"]
    droplet = docker.world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["process_types"] == {"web": "amd64"}
    assert droplet["image"] == f"{docker.open.host}/team/multi:latest"


def test_private_image_through_the_token_challenge(docker: DockerWorld) -> None:
    registry = docker.private
    assert registry.username and registry.password
    image = f"{registry.host}/secret/app:1.0"
    _, build = _stage(docker.world, image, username=registry.username, password=registry.password)
    assert build["state"] == "STAGED", build["error"]
    droplet = docker.world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    assert droplet["process_types"] == {"web": "./secret"}
    assert "password" not in json.dumps(droplet).lower()

    _, refused = _stage(docker.world, image, username=registry.username, password="wrong")
    assert refused["state"] == "FAILED"
    assert refused["error"].startswith(
        "StagingError - Staging error: failed to fetch metadata from [secret/app] with tag [1.0]"
    )
    assert "incorrect username or password" in refused["error"]
    assert "wrong" not in refused["error"]
    _, anonymous = _stage(docker.world, image)
    assert anonymous["state"] == "FAILED" and "UNAUTHORIZED" in anonymous["error"]


def test_missing_tag_fails_with_the_registrys_message(docker: DockerWorld) -> None:
    _, build = _stage(docker.world, f"{docker.open.host}/team/server:nope")
    assert build["state"] == "FAILED"
    assert build["error"] == (
        f"StagingError - Staging error: failed to fetch metadata from [team/server] with tag [nope] and insecure "
        f"registries [{docker.open.host}, {docker.private.host}] due to cannot read the manifest of "
        f"{docker.open.host}/team/server:nope: MANIFEST_UNKNOWN: manifest unknown"
    )
    droplets = docker.world.admin.get("/v3/droplets", params={"states": "FAILED"}).json()["resources"]
    assert build["error"] in [d["error"] for d in droplets]


def test_seed_legacy_docker_package_stages(docker: DockerWorld) -> None:
    world = docker.world
    app = world.app(lifecycle={"type": "docker", "data": {}})
    r = world.admin.post(
        f"/v3/apps/{app['guid']}/packages",
        json={"type": "docker", "url": f"docker://{docker.open.host}/team/server:v1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "READY"
    started = world.admin.post("/v3/builds", json={"package": {"guid": r.json()["guid"]}}).json()
    build = wait_for_build(world.admin, started["guid"], timeout=60)
    assert build["state"] == "STAGED", build["error"]


def test_registry_on_a_private_address_needs_the_operator(docker: DockerWorld) -> None:
    # The database's port on the server's loopback, named as a registry by a user: never reached.
    _, build = _stage(docker.world, "127.0.0.1:5432/postgres/db:latest")
    assert build["state"] == "FAILED"
    refused = "cannot reach registry 127.0.0.1:5432: 127.0.0.1 is on a loopback, link-local or private address"
    assert refused in build["error"]
