"""A Ladle cluster on loopback: API processes and workers as separate OS processes sharing one
PostgreSQL database, one S3-compatible server and one broker (a private Redis, or RabbitMQ)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.cf import Api, login
from tests.support.s3server import S3Server
from tests.support.services import free_port, port_open, wait_for_port, wait_until_serving
from tests.support.waiting import wait_until

__all__ = ["Cluster", "LadleProcess", "RabbitMQApp", "RedisServer", "run_cluster", "run_redis"]

LADLE = str(Path(sys.executable).parent / "ladle")
PASSWORD = "cluster-admin"


class RedisServer:
    """A private redis-server on a free port that a test may stop and start again. It keeps an
    append-only file, as a broker in production would, so a restart keeps queued messages."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                    *("--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port("127.0.0.1", self.port, timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        wait_until(lambda: not port_open("127.0.0.1", self.port), timeout=10, message="redis did not stop")


class RabbitMQApp:
    """The machine's RabbitMQ, whose AMQP side a test may stop and start again
    (``rabbitmqctl stop_app``/``start_app``: the node stays up, durable queues and persistent
    messages survive). Only the cluster tests use this broker, and they run one at a time."""

    port = 5672

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, capture_output=True, timeout=60)
        wait_until(lambda: not port_open("127.0.0.1", self.port), timeout=30, message="rabbitmq did not stop")

    def start(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, capture_output=True, timeout=120)
        wait_for_port("127.0.0.1", self.port, timeout=60)


@contextmanager
def run_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class LadleProcess:
    """``ladle serve`` or ``ladle worker`` as a child process, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    url: str | None = None
    proc: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def tail(self, size: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-size:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    broker: str = ""
    apis: list[LadleProcess] = field(default_factory=list)
    workers: list[LadleProcess] = field(default_factory=list)
    started_workers: int = 0

    def api(self, index: int) -> Api:
        url = self.apis[index].url
        assert url is not None
        return Api(url, login(url, "admin", PASSWORD)["access_token"])

    def start_api(self) -> LadleProcess:
        n = len(self.apis)
        port = free_port()
        process = LadleProcess(
            f"api{n}",
            [LADLE, "serve", "--port", str(port), "--data-dir", str(self.root / f"api{n}")],
            self.env,
            self.root / f"api{n}.log",
            url=f"http://127.0.0.1:{port}",
        )
        self.apis.append(process)
        wait_until_serving(f"{process.url}/", process.proc, timeout=90, log=process.tail)
        return process

    def start_worker(self, queues: str = "staging,default") -> LadleProcess:
        n = self.started_workers  # a worker that replaces a killed one gets a data dir of its own
        self.started_workers += 1
        process = LadleProcess(
            f"worker{n}",
            [LADLE, "worker", "--queues", queues, "--data-dir", str(self.root / f"worker{n}")],
            self.env,
            self.root / f"worker{n}.log",
        )
        self.workers.append(process)
        wait_until(
            lambda: process.proc.poll() is not None or " ready." in process.tail(),
            timeout=60,
            message=process.tail,
        )
        assert process.proc.poll() is None, process.tail()
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail(3000)}" for p in self.apis + self.workers)


@contextmanager
def run_cluster(
    root: Path,
    database_url: str,
    s3: S3Server,
    broker_url: str,
    *,
    apis: int = 2,
    workers: int = 2,
    settings: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start the API processes one after the other (the first migrates the database), then the
    workers; stop them all at the end."""
    root.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
    env.update(s3.env(f"cluster-{tag}"))
    env.update(
        LADLE_DATABASE_URL=database_url,
        LADLE_EXECUTOR="celery",
        LADLE_BROKER_URL=broker_url,
        LADLE_CELERY_QUEUE_PREFIX=f"ladle-test-{tag}",
        LADLE_ADMIN_PASSWORD=PASSWORD,
        LADLE_TOKEN_SIGNING_KEY_FILE=str(root / "token-signing-key.pem"),
        LADLE_RUNNER="none",
        LADLE_ROUTER_ENABLED="false",
        LADLE_SYSTEM_BUILDPACKS="false",
        LADLE_JOB_WORKERS="2",
        # Four processes on a PostgreSQL other test runs share: few connections each.
        LADLE_DATABASE_POOL_SIZE="2",
        # Short leases and sweeps, so a killed worker's job moves on within seconds.
        LADLE_JOB_LEASE_SECONDS="6",
        LADLE_JOB_SWEEP_INTERVAL="2",
        LADLE_JOB_REQUEUE_SECONDS="30",
        LADLE_STAGING_TIMEOUT="60",
        LADLE_STAGING_TIMEOUT_GRACE="10",
        LADLE_LOG_LEVEL="info",
        LADLE_LOG_FORMAT="text",
    )
    env.update({f"LADLE_{name.upper()}": value for name, value in (settings or {}).items()})
    cluster = Cluster(root, env)
    try:
        try:
            for _ in range(apis):
                cluster.start_api()
            for _ in range(workers):
                cluster.start_worker()
        except BaseException:
            print(cluster.logs())
            raise
        yield cluster
    finally:
        # Every process, those a test started in place of one it killed included.
        for process in cluster.workers + cluster.apis:
            process.stop()
        _delete_queues(broker_url, env["LADLE_CELERY_QUEUE_PREFIX"])


def _delete_queues(broker_url: str, prefix: str) -> None:
    """Leave no queues behind on a shared broker (RabbitMQ keeps durable queues forever)."""
    from kombu.connection import Connection

    with Connection(broker_url, connect_timeout=3) as connection:  # type: ignore[no-untyped-call]
        channel = connection.channel()
        for queue in ("staging", "default"):
            try:
                channel.queue_delete(f"{prefix}.{queue}")
            except Exception:
                channel = connection.channel()  # a queue never declared closes the channel
