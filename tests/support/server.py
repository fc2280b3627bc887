"""A real Ladle server on a loopback port, run on a thread of the test process."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, text

from ladle.api.deps import Deps
from ladle.app import build_deps, create_app
from ladle.config import Settings
from tests.support.services import ensure_postgres, free_port, postgres_admin_url

__all__ = ["RunningServer", "fresh_database_url", "run_server"]

ADMIN_PASSWORD = "admin-secret"
# Several checkouts of Ladle may run their suites at once against one PostgreSQL: each gets its
# own database names.
_CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parents[2]).encode()).hexdigest()[:6]


def database_name(name: str) -> str:
    """The PostgreSQL database a test asks for by ``name``, private to this checkout."""
    return f"{name}_{_CHECKOUT}"


@dataclass
class RunningServer:
    url: str
    settings: Settings
    deps: Deps
    database: str


def fresh_database_url(kind: str, name: str, data_dir: Path) -> str:
    """A new, empty database: a SQLite file, or a PostgreSQL database dropped first if left over."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'ladle.db'}"
    ensure_postgres()
    name = database_name(name)
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_admin_url(name)


def drop_database(kind: str, name: str) -> None:
    if kind != "postgresql":
        return
    name = database_name(name)
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def run_server(kind: str, data_dir: Path, db_name: str, **overrides: Any) -> Iterator[RunningServer]:
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
        database_url=fresh_database_url(kind, db_name, data_dir),
        admin_password=ADMIN_PASSWORD,
        debug=True,
        job_workers=4,
        **overrides,
    )
    deps = build_deps(settings)
    app = create_app(settings, deps)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
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
        drop_database(kind, db_name)
