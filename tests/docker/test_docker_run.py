"""Docker apps run by the local runner, without Docker: images built here from Debian's static
busybox, pushed to real registries on loopback, staged, started and reached through the router."""

from __future__ import annotations

import base64
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ladle.clock import new_guid
from ladle.db.models import Task
from tests.docker.test_image_pull import Entry, entry, layer
from tests.runner.test_local_runner import _rows, wait_until
from tests.staging.helpers import docker_build, wait_for_build
from tests.support.cf import World, unique
from tests.support.registry import RunningRegistry, image_config, push_image, run_registry
from tests.support.server import DATABASES, run_server

BUSYBOX = Path("/bin/busybox")
# An image holds no host libraries: the busybox copied into it must be the static one.
_STATIC = BUSYBOX.is_file() and subprocess.run(["ldd", str(BUSYBOX)], capture_output=True, check=False).returncode != 0
pytestmark = pytest.mark.skipif(not _STATIC, reason="needs a static /bin/busybox (Debian's busybox-static)")

# busybox httpd passes a CGI's header lines through as they are: they must end in CRLF.
CGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "uid=$(id -u) gid=$(id -g) port=$PORT index=$CF_INSTANCE_INDEX home=$HOME"
echo "greeting=$GREETING"
read -r first < /etc/hosts
echo "hosts=$first"
echo "$CF_INSTANCE_INDEX" > /www/written && read -r written < /www/written && echo "written=$written"
"""

SERVE = {
    # The image's own shell and server; the port comes from CF's PORT (its first exposed port).
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["exec httpd -f -p $PORT -h ."],
    "WorkingDir": "/www",
    "User": "www",
    "Env": ["PATH=/bin", "GREETING=hello from the image"],
    # Port 80, as many images use: the image's user has no capabilities, but in its own network
    # namespace low ports are not privileged.
    "ExposedPorts": {"80/tcp": {}, "9090/tcp": {}},
}


def busybox_layers() -> list[bytes]:
    base: list[Entry] = [
        entry("bin/", tarfile.DIRTYPE, mode=0o755),
        entry("bin/busybox", data=BUSYBOX.read_bytes(), mode=0o755),
        entry("bin/sh", tarfile.SYMTYPE, link="busybox"),
        entry("bin/httpd", tarfile.SYMTYPE, link="busybox"),
        entry("bin/id", tarfile.SYMTYPE, link="/bin/busybox"),  # absolute, as alpine's are
        entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000:www:/www:/bin/sh\n"),
        entry("etc/group", data=b"root:x:0:\nwww:x:1000:\n"),
        entry("www/old.html", data=b"removed by the next layer"),
        entry("www/index.html", data=b"first layer"),
    ]
    top: list[Entry] = [
        entry("www/.wh.old.html"),
        entry("www/index.html", data=b"hello from busybox\n"),
        entry("www/cgi-bin/env", data=CGI, mode=0o755),
    ]
    return [layer(*base), layer(*top)]


@dataclass
class DockerRun:
    world: World
    open: RunningRegistry
    private: RunningRegistry
    router: str
    images: Path


@pytest.fixture(scope="module", params=DATABASES)
def docker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRun]:
    layers = busybox_layers()
    with (
        run_registry(tmp_path_factory.mktemp("open-registry")) as open_registry,
        run_registry(tmp_path_factory.mktemp("token-registry"), auth="token") as private,
    ):
        for registry, repository in ((open_registry, "web/busybox"), (private, "secret/busybox")):
            push_image(registry, repository, "1", config=image_config(SERVE, layers=layers), layers=layers)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        data = tmp_path_factory.mktemp(f"docker-run-{request.param}")
        with run_server(
            request.param,
            data,
            f"ladle_test_docker_run_{worker}",
            runner="local",
            router_enabled=True,
            insecure_docker_registries=(open_registry.host, private.host),
        ) as server:
            world = World(server)
            assert world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True}).status_code == 200
            settings = server.settings
            yield DockerRun(
                world,
                open_registry,
                private,
                f"http://{settings.router_host}:{settings.router_port}",
                data / "runner" / "images",
            )


def _push_app(
    run: DockerRun, image: str, instances: int = 1, health: dict[str, Any] | None = None, **credentials: str
) -> tuple[dict[str, Any], str]:
    """cf push --docker-image: app, package, staging, droplet, route, scale, start; returns (app, host)."""
    world = run.world
    space = world.space()
    app = world.app(space, lifecycle={"type": "docker", "data": {}})
    build = wait_for_build(world.admin, docker_build(world, app, image, **credentials)["guid"], timeout=60)
    assert build["state"] == "STAGED", build["error"]
    r = world.admin.patch(
        f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": build["droplet"]["guid"]}}
    )
    assert r.status_code == 200, r.text
    domain = world.admin.get("/v3/domains", params={"names": "apps.localhost"}).json()["resources"][0]
    host = unique("bb")
    route = world.admin.post(
        "/v3/routes",
        json={
            "host": host,
            "relationships": {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}},
        },
    )
    assert route.status_code == 201, route.text
    r = world.admin.post(
        f"/v3/routes/{route.json()['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
    )
    assert r.status_code == 200, r.text
    r = world.admin.post(f"/v3/apps/{app['guid']}/processes/web/actions/scale", json={"instances": instances})
    assert r.status_code == 202, r.text
    if health is not None:
        r = world.admin.patch(f"/v3/processes/{r.json()['guid']}", json={"health_check": health})
        assert r.status_code == 200, r.text
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    return app, f"{host}.apps.localhost"


def _running(run: DockerRun, app: dict[str, Any], count: int) -> None:
    def check() -> bool:
        rows = _rows(run.world, app["guid"])
        failed = [r.details for r in rows if r.state == "CRASHED"]
        assert not failed, failed
        return sum(1 for r in rows if r.state == "RUNNING") == count

    wait_until(check, 90, f"{count} running instances")


def _app_log(run: DockerRun, app: dict[str, Any]) -> list[str]:
    body = run.world.admin.get(
        f"/api/v1/read/{app['guid']}", params={"envelope_types": "LOG", "limit": 1000, "start_time": 0}
    ).json()
    return [base64.b64decode(e["log"]["payload"]).decode() for e in body["envelopes"]["batch"]]


def _log_with(run: DockerRun, app: dict[str, Any], text: str) -> list[str]:
    """The app's log once a line holds ``text`` (it is written in batches, a moment after the fact)."""

    def check() -> list[str] | None:
        lines = _app_log(run, app)
        return lines if any(text in line for line in lines) else None

    found: list[str] = wait_until(check, 15, f"{text!r} in the app's log")
    return found


def _get(run: DockerRun, host: str, path: str) -> httpx.Response:
    return httpx.get(f"{run.router}{path}", headers={"Host": host}, timeout=10)


def _stop(run: DockerRun, app: dict[str, Any]) -> None:
    run.world.admin.post(f"/v3/apps/{app['guid']}/actions/stop")
    wait_until(lambda: not _rows(run.world, app["guid"]), 30, "instances to stop")


def test_busybox_image_serves_through_the_router(docker: DockerRun) -> None:
    image = f"{docker.open.host}/web/busybox:1"
    app, host = _push_app(docker, image, instances=2)
    _running(docker, app, 2)

    def both_answer() -> set[str] | None:
        seen = set()
        for _ in range(12):
            r = _get(docker, host, "/cgi-bin/env")
            if r.status_code == 200:
                seen.add(r.text.split("index=")[1].split()[0])
        return seen if seen == {"0", "1"} else None

    assert wait_until(both_answer, 30, "both instances to answer through the router") == {"0", "1"}
    r = _get(docker, host, "/")
    assert (r.status_code, r.text) == (200, "hello from busybox\n")  # the top layer's, served from WorkingDir
    assert _get(docker, host, "/old.html").status_code == 404  # removed by a whiteout
    env = _get(docker, host, "/cgi-bin/env").text
    # The image's user (uid 1000 inside the sandbox), its Env, CF's PORT (the first exposed port).
    assert "uid=1000 gid=1000 port=80 " in env and "home=/www" in env
    assert "greeting=hello from the image" in env
    assert "hosts=127.0.0.1\tlocalhost" in env
    # The instance writes where it likes (its own overlay of the image), and the image stays as it was.
    index = env.split("index=")[1].split()[0]
    assert f"written={index}" in env
    assert not any((root / "rootfs" / "www" / "written").exists() for root in docker.images.iterdir())
    logs = _log_with(docker, app, "(cache hit)")
    # Pulled once: the other instance, starting at the same time, waited for it and found it cached.
    assert sum(1 for line in logs if line.startswith(f"Pulling image {image} (sha256:")) == 1
    assert sum(1 for line in logs if "(cache hit)" in line) == 1

    # A second app of the same image starts from the cache.
    other, other_host = _push_app(docker, image)
    _running(docker, other, 1)
    assert wait_until(lambda: _get(docker, other_host, "/").status_code == 200, 30, "the second app to answer")
    other_logs = _log_with(docker, other, "(cache hit)")
    assert any("is in this cell's image cache (cache hit): not pulled again" in line for line in other_logs)
    assert not any(line.startswith("Pulling image") for line in other_logs)
    _stop(docker, app)
    _stop(docker, other)


def test_private_image_through_a_token_registry(docker: DockerRun) -> None:
    registry = docker.private
    assert registry.username and registry.password
    image = f"{registry.host}/secret/busybox:1"
    # An http health check, run by the host's bash in the instance's network: the image has none.
    health = {"type": "http", "data": {"endpoint": "/index.html"}}
    app, host = _push_app(docker, image, health=health, username=registry.username, password=registry.password)
    _running(docker, app, 1)
    r = wait_until(lambda: (resp := _get(docker, host, "/")).status_code == 200 and resp, 30, "the app to answer")
    assert r.text == "hello from busybox\n"
    # The password was used to pull and is shown nowhere.
    world = docker.world
    shown = [
        world.admin.get(f"/v3/apps/{app['guid']}/packages").text,
        world.admin.get(f"/v3/apps/{app['guid']}/droplets").text,
        world.admin.get(f"/v3/apps/{app['guid']}/env").text,
        world.admin.get(f"/v3/apps/{app['guid']}/processes/web/stats").text,
        "\n".join(_log_with(docker, app, "Container became healthy")),
    ]
    assert all(registry.password not in text for text in shown)
    _stop(docker, app)


def test_hostile_image_fails_the_start_with_its_reason(docker: DockerRun, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = layer(entry("escape", tarfile.SYMTYPE, link=str(outside)), entry("escape/pwned", data=b"x"))
    push_image(docker.open, "web/hostile", "1", config=image_config(SERVE, layers=[hostile]), layers=[hostile])
    app, _ = _push_app(docker, f"{docker.open.host}/web/hostile:1")

    def crashed() -> str | None:
        stats = docker.world.admin.get(f"/v3/apps/{app['guid']}/processes/web/stats").json()["resources"]
        details = stats[0]["details"] if stats else None
        return details if stats[0]["state"] in ("CRASHED", "DOWN", "STARTING") and details else None

    details = wait_until(crashed, 60, "the start to fail")
    assert details.startswith(f"refused to unpack {docker.open.host}/web/hostile:1: layer 1 (sha256:")
    assert f"absolute symbolic link /escape -> {outside}, which points outside the image" in details
    _log_with(docker, app, "Failed to create container: refused to unpack")
    assert list(outside.iterdir()) == []
    # Stopped, no start is pulling any more: a refused layer left no entry, whole or partial.
    _stop(docker, app)

    def only_whole_entries() -> bool:
        return all(
            p.name.endswith(".lock") or (p.is_dir() and not p.name.startswith(".")) for p in docker.images.iterdir()
        )

    wait_until(only_whole_entries, 30, "scratch directories of the refused pulls to be gone")
    assert list(outside.iterdir()) == []


def test_image_no_current_droplet_uses_is_evicted(docker: DockerRun) -> None:
    layers = busybox_layers()
    config = image_config({**SERVE, "Env": ["PATH=/bin", "GREETING=soon gone"]}, layers=layers)
    digest = push_image(docker.open, "web/evicted", "1", config=config, layers=layers)
    app, _ = _push_app(docker, f"{docker.open.host}/web/evicted:1")
    _running(docker, app, 1)
    entry_dir = docker.images / digest.partition(":")[2]
    assert (entry_dir / "rootfs" / "bin" / "busybox").is_file()
    _stop(docker, app)
    r = docker.world.admin.delete(f"/v3/apps/{app['guid']}")
    assert r.status_code == 202, r.text
    docker.world.admin.wait_for_job(r.headers["Location"])
    # Deleted, nothing uses it: the runner's periodic sweep (every 10 s) removes it.
    wait_until(lambda: not entry_dir.exists(), 40, "the unused image to be evicted")
    assert all(not p.name.startswith(".") or p.name.endswith(".lock") for p in docker.images.iterdir())


def test_task_runs_in_the_image(docker: DockerRun) -> None:
    app, _ = _push_app(docker, f"{docker.open.host}/web/busybox:1")
    world = docker.world
    droplet = world.admin.get(f"/v3/apps/{app['guid']}/droplets/current").json()["guid"]
    task = Task(
        guid=new_guid(),
        app_guid=app["guid"],
        sequence_id=1,
        name="migrate",
        # The image's sh (there is no bash), as the image's user, in its WorkingDir, with its Env.
        command='echo "task uid=$(id -u) cwd=$PWD greeting=$GREETING"; exit 3',
        state="RUNNING",
        memory_in_mb=64,
        disk_in_mb=64,
        droplet_guid=droplet,
    )
    guid = task.guid
    with world.server.deps.db.session() as s:
        s.add(task)
        s.commit()
    world.server.deps.notify_desired_state()

    def finished() -> Task | None:
        with world.server.deps.db.session() as s:
            row = s.scalars(select(Task).where(Task.guid == guid)).one()
            s.expunge_all()
            return row if row.state in ("SUCCEEDED", "FAILED") else None

    ended = wait_until(finished, 60, "the task to end")
    assert (ended.state, ended.failure_reason) == ("FAILED", "APP/TASK/migrate: Exited with status 3")
    _log_with(docker, app, "task uid=1000 cwd=/www greeting=hello from the image")
    _stop(docker, app)
