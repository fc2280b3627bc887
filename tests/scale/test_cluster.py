"""Two API processes and two workers as separate OS processes on PostgreSQL, an S3-compatible
server and a broker (a private Redis, then the machine's RabbitMQ): apps pushed through both APIs
all stage; a worker killed mid-staging leaves no build stuck; a broker down while jobs are
created loses none of them."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from ladle.config import Settings
from ladle.jobs.celery_executor import TASK, make_celery
from tests.support.archives import make_zip
from tests.support.buildpacks import write_buildpack, zip_directory
from tests.support.cf import Api, unique
from tests.support.cluster import Cluster, LadleProcess, RabbitMQApp, RedisServer, run_cluster, run_redis
from tests.support.s3server import S3Server
from tests.support.server import drop_database, fresh_database_url
from tests.support.services import port_open
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
FINAL = {"STAGED", "FAILED"}


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with run_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: S3Server,
) -> Iterator[Cluster]:
    if request.param == "redis":
        broker = request.getfixturevalue("redis").url
    else:
        if not port_open("127.0.0.1", 5672):
            pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (scripts/test starts it)")
        broker = RABBITMQ
    name = f"ladle_test_cluster_{request.param}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = fresh_database_url("postgresql", name, tmp_path_factory.mktemp("db"))
    try:
        with run_cluster(tmp_path_factory.mktemp(f"cluster-{request.param}"), url, s3_server, broker) as running:
            running.broker = request.param
            yield running
    finally:
        drop_database("postgresql", name)


def buildpack(api: Api, tmp: Path, compile_script: str) -> str:
    name = unique("bp").replace("-", "_")
    guid = api.post("/v3/buildpacks", json={"name": name}).json()["guid"]
    directory = write_buildpack(tmp / name, {"compile": compile_script, "release": RELEASE})
    r = api.post(f"/v3/buildpacks/{guid}/upload", files={"bits": ("bp.zip", zip_directory(directory))})
    assert r.status_code == 202, r.text
    assert api.wait_for_job(r.headers["location"], timeout=60)["state"] == "COMPLETE"
    return name


def space(api: Api) -> str:
    org = api.post("/v3/organizations", json={"name": unique("org")}).json()["guid"]
    body = {"name": unique("space"), "relationships": {"organization": {"data": {"guid": org}}}}
    return str(api.post("/v3/spaces", json=body).json()["guid"])


def push(api: Api, space_guid: str, bp: str, content: str) -> dict[str, Any]:
    """Create an app, upload its bits and start its build; returns the app, package and build."""
    app = api.post(
        "/v3/apps",
        json={
            "name": unique("app"),
            "relationships": {"space": {"data": {"guid": space_guid}}},
            "lifecycle": {"type": "buildpack", "data": {"buildpacks": [bp]}},
        },
    ).json()
    package = api.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    bits = make_zip({"index.txt": content, "run": "#!/bin/sh\nexec true\n"})
    r = api.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("app.zip", bits)})
    assert r.status_code == 200, r.text
    return {"app": app, "package": package["guid"], "content": content}


def start_build(api: Api, pushed: dict[str, Any], timeout: float = 90) -> str:
    ready = api.wait_for(f"/v3/packages/{pushed['package']}", lambda p: p["state"] in {"READY", "FAILED"}, timeout)
    assert ready["state"] == "READY", ready
    r = api.post("/v3/builds", json={"package": {"guid": pushed["package"]}})
    assert r.status_code == 201, r.text
    return str(r.json()["guid"])


def droplet_file(api: Api, droplet_guid: str, name: str) -> bytes:
    # Downloads are pre-signed redirects to the S3 server: followed without our token.
    r = api.get(f"/v3/droplets/{droplet_guid}/download")
    assert r.status_code == 302, r.text
    blob = httpx.get(r.headers["location"])
    assert blob.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(blob.content), mode="r:gz") as tar:
        member = tar.extractfile(f"./app/{name}")
        assert member is not None
        return member.read()


def test_apps_pushed_through_both_apis_all_stage(cluster: Cluster, tmp_path: Path) -> None:
    apis = [cluster.api(0), cluster.api(1)]
    bp = buildpack(apis[0], tmp_path, 'echo "compiled $(cat "$1/index.txt")"\n')
    space_guid = space(apis[1])
    pushed = [push(apis[n % 2], space_guid, bp, f"app number {n}") for n in range(10)]
    # Builds are started through the other API than the one that took the upload.
    builds = [start_build(apis[(n + 1) % 2], p) for n, p in enumerate(pushed)]
    for n, (p, build_guid) in enumerate(zip(pushed, builds, strict=True)):
        api = apis[n % 2]
        build = api.wait_for(f"/v3/builds/{build_guid}", lambda b: b["state"] in FINAL, timeout=120)
        assert build["state"] == "STAGED", (build, cluster.logs())
        droplet = build["droplet"]["guid"]
        assert droplet_file(apis[(n + 1) % 2], droplet, "index.txt") == p["content"].encode()
        # The staging log a worker wrote reads back through either API.
        assert f"compiled app number {n}" in apis[(n + 1) % 2].get(f"/v3/builds/{build_guid}/logs").text
        # The package's bits come back whole from the other API too.
        r = apis[(n + 1) % 2].get(f"/v3/packages/{p['package']}/download")
        assert r.status_code == 302
        with zipfile.ZipFile(io.BytesIO(httpx.get(r.headers["location"]).content)) as zf:
            assert zf.read("index.txt") == p["content"].encode()
    # Both workers took stagings (each runs two at a time; ten builds keep both busy).
    ran = [w.tail(200_000).count("job complete") for w in cluster.workers]
    assert all(count > 0 for count in ran), ran


def test_a_job_delivered_several_times_runs_once(cluster: Cluster, tmp_path: Path) -> None:
    api = cluster.api(0)
    bp = buildpack(api, tmp_path, "sleep 3\n")
    pushed = push(api, space(api), bp, "duplicated")
    build_guid = start_build(api, pushed)
    engine = create_engine(cluster.env["LADLE_DATABASE_URL"])
    with engine.connect() as conn:
        job_guid = conn.execute(
            text("SELECT guid FROM jobs WHERE operation = 'build.stage' AND resource_guid = :build"),
            {"build": build_guid},
        ).scalar_one()
    # The broker hands the same job over three more times, to both workers, while it runs.
    settings = Settings(
        executor="celery",
        broker_url=cluster.env["LADLE_BROKER_URL"],
        celery_queue_prefix=cluster.env["LADLE_CELERY_QUEUE_PREFIX"],
    )
    celery = make_celery(settings)
    for _ in range(3):
        celery.send_task(TASK, args=[job_guid], queue=f"{settings.celery_queue_prefix}.staging")
    celery.close()
    build = api.wait_for(f"/v3/builds/{build_guid}", lambda b: b["state"] in FINAL, timeout=90)
    assert build["state"] == "STAGED", build
    # Every duplicate was taken (while the job ran, or after) and dropped: started and complete
    # once, then three "not claimed" or "duplicate delivery dropped".
    wait_until(
        lambda: sum(w.tail(500_000).count(job_guid) for w in cluster.workers) >= 5, timeout=60, message=cluster.logs
    )
    started = sum(w.tail(500_000).count(f"job started [job={job_guid}") for w in cluster.workers)
    assert started == 1, cluster.logs()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT attempts FROM jobs WHERE guid = :g"), {"g": job_guid}).scalar_one() == 1
    engine.dispose()


def worker_running(cluster: Cluster, marker: str) -> LadleProcess | None:
    """The worker whose descendants include a process whose command line holds ``marker``."""
    holders = {str(w.proc.pid): w for w in cluster.workers}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() not in cmdline:
            continue
        current = pid
        while current not in {"0", "1"}:
            if current in holders:
                return holders[current]
            try:
                stat = Path(f"/proc/{current}/stat").read_text()
            except OSError:
                break
            current = stat.rsplit(")", 1)[1].split()[1]
    return None


def test_a_worker_killed_mid_staging_leaves_no_build_stuck(cluster: Cluster, tmp_path: Path) -> None:
    api = cluster.api(0)
    marker = f"marker-{unique('kill')}"
    # The marker is in the command line of the sleeping process, so the test finds its worker.
    bp = buildpack(api, tmp_path, f"sh -c 'sleep 8' {marker}\n")
    pushed = push(api, space(api), bp, "killed")
    build_guid = start_build(api, pushed)
    victim = wait_until(lambda: worker_running(cluster, marker), timeout=60, message=cluster.logs)
    victim.kill()
    started = time.monotonic()
    build = cluster.api(1).wait_for(f"/v3/builds/{build_guid}", lambda b: b["state"] in FINAL, timeout=90)
    # Retried on the other worker (the staging job has a second attempt), or failed saying why.
    if build["state"] == "FAILED":
        assert build["error"], build
    else:
        assert droplet_file(api, build["droplet"]["guid"], "index.txt") == b"killed"
    assert time.monotonic() - started < 60 + 10  # within the staging timeout (and its grace)
    # A worker takes the killed one's place for the tests after this one.
    cluster.workers.remove(victim)
    cluster.start_worker()


def test_jobs_created_while_the_broker_is_down_are_not_lost(
    cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if cluster.broker == "redis":
        broker: RedisServer | RabbitMQApp = request.getfixturevalue("redis")
    else:
        if shutil.which("rabbitmqctl") is None:
            pytest.fail("rabbitmqctl is not installed (scripts/test installs rabbitmq-server)")
        broker = RabbitMQApp()
    apis = [cluster.api(0), cluster.api(1)]
    bp = buildpack(apis[0], tmp_path, "true\n")
    space_guid = space(apis[0])
    broker.stop()
    stopped = time.monotonic()
    try:
        # Uploads answer at once: their jobs are rows, handed to the broker when it is back.
        pushed = [push(apis[n % 2], space_guid, bp, f"offline {n}") for n in range(4)]
        remaining = 10 - (time.monotonic() - stopped)
        if remaining > 0:
            time.sleep(remaining)  # the outage this test is about: the broker stays down 10 s
    finally:
        broker.start()
    builds = [start_build(apis[n % 2], p, timeout=90) for n, p in enumerate(pushed)]
    for n, build_guid in enumerate(builds):
        build = apis[n % 2].wait_for(f"/v3/builds/{build_guid}", lambda b: b["state"] in FINAL, timeout=90)
        assert build["state"] == "STAGED", (build, cluster.logs())
