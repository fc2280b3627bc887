"""A real Ladle server on a loopback port, run on a thread of the test process."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, text

from ladle.api.deps import Deps
from ladle.api.http_server import uvicorn_config
from ladle.app import build_deps, create_app
from ladle.config import Settings
from tests.support.services import ensure_mariadb, ensure_postgres, free_port, mariadb_admin_url, postgres_admin_url

__all__ = ["DATABASES", "RunningServer", "fresh_database_url", "run_server", "worker"]

ADMIN_PASSWORD = "admin-secret"
# Several checkouts of Ladle may run their suites at once against one PostgreSQL or MariaDB: each
# gets its own database names.
_CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parents[2]).encode()).hexdigest()[:6]


def worker() -> str:
    """The xdist worker running this test process (``main`` without xdist)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_name(name: str) -> str:
    """The server database a test asks for by ``name``, private to this checkout."""
    return f"{name}_{_CHECKOUT}"


@dataclass
class RunningServer:
    url: str
    settings: Settings
    deps: Deps
    database: str


# The kinds of database there are; "mysql" is MariaDB's server under MySQL's name.
KINDS = ("sqlite", "postgresql", "mariadb", "mysql")
# The ones the suite runs on: every test of a database runs once per kind listed.
DATABASES = [d for d in os.environ.get("LADLE_TEST_DATABASES", "sqlite,postgresql").split(",") if d]


def fresh_database_url(kind: str, name: str, data_dir: Path) -> str:
    """A new, empty database: a SQLite file, or a server database dropped first if left over."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'ladle.db'}"
    name = database_name(name)
    if kind == "postgresql":
        ensure_postgres()
        admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return postgres_admin_url(name)
    if kind in ("mariadb", "mysql"):
        ensure_mariadb()
        admin = create_engine(mariadb_admin_url())
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            # The server's defaults: Ladle's migrations make the strings byte-compared themselves.
            conn.execute(text(f"CREATE DATABASE `{name}`"))
        admin.dispose()
        return mariadb_admin_url(name)
    raise ValueError(f"unknown database kind {kind!r} (one of {', '.join(KINDS)})")


def drop_database(kind: str, name: str) -> None:
    name = database_name(name)
    if kind == "postgresql":
        admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    elif kind in ("mariadb", "mysql"):
        admin = create_engine(mariadb_admin_url())
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@contextmanager
def run_server(kind: str, data_dir: Path, db_name: str, **overrides: Any) -> Iterator[RunningServer]:
    """A server on a new database ``db_name`` (dropped when it stops), or, given a
    ``database_url``, on another server's database (a second API process of one installation)."""
    database_url: str | None = overrides.pop("database_url", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Most tests check the API against instance rows they write themselves: no runner unless a
    # test runs apps.
    overrides.setdefault("runner", "none")
    # A router process per test server only where a test routes requests through it.
    overrides.setdefault("router_enabled", False)
    if overrides["router_enabled"]:
        overrides.setdefault("router_port", free_port())
    # Most tests count on a server with no admin buildpacks; tests of the system buildpacks opt in.
    overrides.setdefault("system_buildpacks", False)
    settings = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        database_url=database_url or fresh_database_url(kind, db_name, data_dir),
        admin_password=ADMIN_PASSWORD,
        debug=True,
        job_workers=4,
        **overrides,
    )
    deps = build_deps(settings)
    app = create_app(settings, deps)
    server = uvicorn.Server(uvicorn_config(app, settings))
    thread = threading.Thread(target=server.run, name=f"ladle-{kind}", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server failed to start")
        threading.Event().wait(0.02)
    try:
        yield RunningServer(settings.effective_external_url, settings, deps, kind)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if database_url is None:
            drop_database(kind, db_name)
