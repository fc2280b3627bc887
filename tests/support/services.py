"""Real services the tests need, started here when the machine has not started them already."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time

__all__ = ["ensure_postgres", "free_port", "postgres_admin_url", "wait_for_port"]

PG_HOST = os.environ.get("LADLE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LADLE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LADLE_TEST_PG_USER", "postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


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
