"""The ``ladle`` command as an operator runs it: a real process on a fresh data directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.cf import login
from tests.support.server import DATABASES, drop_database, fresh_database_url
from tests.support.services import free_port, wait_until_serving

LADLE = str(Path(sys.executable).parent / "ladle")


def env_without_ladle(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
    # Each server's router on a port of its own: tests run side by side.
    env["LADLE_ROUTER_PORT"] = str(free_port())
    env.update(extra)
    return env


@contextmanager
def serving(data_dir: Path, env: dict[str, str], port: int) -> Iterator[tuple[subprocess.Popen[str], float]]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [LADLE, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(
            f"http://127.0.0.1:{port}/", proc, log=lambda: str(proc.communicate()) if proc.poll() is not None else ""
        )
        yield proc, time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_first_start_creates_db_and_admin_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    # How fast it starts is a benchmark's business; here it only has to start.
    with serving(data_dir, env_without_ladle(), port) as (proc, _seconds):
        password_file = data_dir / "admin-password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        tokens = login(f"http://127.0.0.1:{port}", "admin", password)
        assert tokens["access_token"]
        key_mode = stat.S_IMODE((data_dir / "token-signing-key.pem").stat().st_mode)
        assert key_mode == 0o600
    out, err = proc.communicate()
    assert password in out  # printed once, at first start
    # The server and its router each froze their start-up heap (ladle.heap), before serving.
    frozen = [json.loads(line) for line in err.splitlines() if "start-up heap frozen" in line]
    assert len(frozen) == 2 and all(entry["objects"] > 10_000 for entry in frozen), err
    assert (data_dir / "ladle.db").exists()

    # A second start keeps the password and says nothing about it.
    with serving(data_dir, env_without_ladle(), port) as (proc, _):
        assert login(f"http://127.0.0.1:{port}", "admin", password)["access_token"]
    out, _ = proc.communicate()
    assert password not in out


def test_user_add_and_env_settings(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = env_without_ladle(LADLE_ADMIN_PASSWORD="from-env", LADLE_EXTERNAL_URL="https://api.example.test")
    add = subprocess.run(
        [LADLE, "user", "add", "dev1", "--password", "pw1", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert add.returncode == 0, add.stderr
    again = subprocess.run(
        [LADLE, "user", "add", "dev1", "--password", "pw1", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    port = free_port()
    with serving(data_dir, env, port):
        base = f"http://127.0.0.1:{port}"
        root = httpx.get(f"{base}/").json()
        assert root["links"]["self"]["href"] == "https://api.example.test"
        assert login(base, "admin", "from-env")["access_token"]
        token = login(base, "dev1", "pw1")["access_token"]
        me = httpx.get(f"{base}/v3/users", headers={"Authorization": f"bearer {token}"}).json()
        assert [u["username"] for u in me["resources"]] == ["dev1"]


def test_bad_configuration_is_reported(tmp_path: Path) -> None:
    result = subprocess.run(
        [LADLE, "serve", "--data-dir", str(tmp_path)],
        env=env_without_ladle(LADLE_PORT="not-a-number"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "LADLE_PORT" in result.stderr


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({}, "set LADLE_EXECUTOR=celery and LADLE_BROKER_URL"),
        ({"LADLE_EXECUTOR": "celery"}, "executor 'celery' needs broker_url"),
        (
            {"LADLE_EXECUTOR": "celery", "LADLE_BROKER_URL": "redis://127.0.0.1:1/0"},
            "set LADLE_DATABASE_URL and LADLE_BLOBSTORE=s3",
        ),
    ],
)
def test_a_worker_without_shared_services_refuses_to_start(
    tmp_path: Path, settings: dict[str, str], complaint: str
) -> None:
    result = subprocess.run(
        [LADLE, "worker", "--data-dir", str(tmp_path)],
        env=env_without_ladle(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert complaint in result.stderr
    result = subprocess.run(
        [LADLE, "worker", "--queues", "staging,nope"],
        env=env_without_ladle(
            LADLE_EXECUTOR="celery",
            LADLE_BROKER_URL="redis://127.0.0.1:1/0",
            LADLE_DATABASE_URL="sqlite:///x",
            LADLE_BLOBSTORE="s3",
            LADLE_S3_BUCKET="b",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--queues takes a comma-separated list of staging, default" in result.stderr


@pytest.mark.parametrize("kind", DATABASES)
def test_db_upgrade(tmp_path: Path, kind: str) -> None:
    url = fresh_database_url(kind, "ladle_test_cli_upgrade", tmp_path)
    try:
        for _ in range(2):  # idempotent
            result = subprocess.run(
                [LADLE, "db", "upgrade", "--data-dir", str(tmp_path), "--database-url", url],
                env=env_without_ladle(),
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stderr
            assert "up to date" in result.stdout
    finally:
        drop_database(kind, "ladle_test_cli_upgrade")
