"""Real services the tests need, started here when the machine has not started them already."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Collection
from typing import Any

import httpx

from tests.support.waiting import wait_until

__all__ = [
    "ensure_mariadb",
    "ensure_postgres",
    "free_port",
    "mariadb_admin_url",
    "postgres_admin_url",
    "wait_for_port",
    "wait_until_serving",
]

PG_HOST = os.environ.get("LADLE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LADLE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LADLE_TEST_PG_USER", "postgres")
MARIADB_HOST = os.environ.get("LADLE_TEST_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("LADLE_TEST_MARIADB_PORT", "3306"))
MARIADB_USER = os.environ.get("LADLE_TEST_MARIADB_USER", "root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    wait_until(lambda: port_open(host, port), timeout=timeout, message=f"nothing listens on {host}:{port}")


def wait_until_serving(
    url: str,
    process: subprocess.Popen[Any],
    *,
    timeout: float = 20.0,
    statuses: Collection[int] = (200,),
    verify: bool = True,
    log: Callable[[], str] = lambda: "",
) -> None:
    """Wait until ``url`` answers with one of ``statuses``; fail at once if ``process`` exits."""

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{log()}")
        try:
            return httpx.get(url, timeout=0.5, verify=verify).status_code in statuses
        except httpx.TransportError:
            return False

    wait_until(answering, timeout=timeout, message=lambda: f"nothing answered at {url}:\n{log()}")


def ensure_postgres() -> None:
    """Start the machine's PostgreSQL cluster if it is not answering."""
    if port_open(PG_HOST, PG_PORT):
        return
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise RuntimeError("PostgreSQL is not running and no local cluster is installed to start")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=True,
        capture_output=True,
    )
    wait_for_port(PG_HOST, PG_PORT)


def postgres_admin_url(database: str = "postgres") -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def ensure_mariadb() -> None:
    """Start the machine's MariaDB (or MySQL) server if it is not answering."""
    if port_open(MARIADB_HOST, MARIADB_PORT):
        return
    server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")
    if server is None or shutil.which("start-stop-daemon") is None:
        raise RuntimeError("MariaDB is not running and no local server is installed to start")
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", server],
        check=True,
        capture_output=True,
    )
    wait_for_port(MARIADB_HOST, MARIADB_PORT)


def mariadb_admin_url(database: str = "") -> str:
    return f"mysql+pymysql://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{database}?charset=utf8mb4"
