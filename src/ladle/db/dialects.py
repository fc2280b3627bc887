"""What differs between the databases Ladle runs on: SQLite, PostgreSQL and MySQL/MariaDB.

Everything else is written once, in SQL all three accept. MySQL and MariaDB need:

- microsecond timestamps (a bare ``DATETIME`` keeps whole seconds, and ordering, leases and
  ``created_ats`` filters need the fractions SQLite and PostgreSQL keep) and ``LONGTEXT`` for
  text (``TEXT`` stops at 64 KiB, where PostgreSQL's has no limit): both are compiled here for
  the models and the migrations alike;
- a connection in utf8mb4 at READ COMMITTED, PostgreSQL's level: InnoDB's default, REPEATABLE
  READ, takes gap locks that deadlock two writers inserting near each other;
- a named lock (``GET_LOCK``) where PostgreSQL takes an advisory lock (:func:`cluster_lock`).

Expression indexes (``lower(name)``) are columns generated from the expression on MySQL, which
indexes no expressions (``ladle.db.migrations.expression_index``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Text, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import TypeCompiler

__all__ = ["MYSQL_DIALECTS", "cluster_lock", "engine_options", "is_mysql"]

# SQLAlchemy names the dialect after the URL's scheme (``mysql+pymysql://`` or ``mariadb+pymysql://``).
MYSQL_DIALECTS = ("mysql", "mariadb")


def is_mysql(dialect: Dialect) -> bool:
    return dialect.name in MYSQL_DIALECTS


@compiles(DateTime, *MYSQL_DIALECTS)
def _datetime_with_microseconds(type_: DateTime, compiler: TypeCompiler, **kw: Any) -> str:
    return "DATETIME(6)"


@compiles(Text, *MYSQL_DIALECTS)
def _unbounded_text(type_: Text, compiler: TypeCompiler, **kw: Any) -> str:
    return "LONGTEXT"


def engine_options(url: str) -> tuple[URL, dict[str, Any]]:
    """The URL (with defaults filled in) and ``create_engine`` options for a server database."""
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() in MYSQL_DIALECTS:
        if "charset" not in parsed.query:
            # 4-byte UTF-8: the server's "utf8" is a 3-byte subset that refuses emoji.
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        options["isolation_level"] = "READ COMMITTED"
        # The server closes connections idle for wait_timeout (8 h by default).
        options["pool_recycle"] = 3600
    return parsed, options


@contextmanager
def cluster_lock(engine: Engine, key: int) -> Iterator[Connection]:
    """A connection holding the lock named by ``key`` until the block ends: transactions run on
    it inside the block (``begin()``/``commit()``, or a ``Session`` bound to it) are serialized
    with every other holder, on every node. SQLite's single file serializes writers already.

    Both locks belong to the database session, not to a transaction, so they outlast the commits
    made inside the block (a MySQL DDL statement commits by itself)."""
    with engine.connect() as connection:
        name = connection.dialect.name
        if name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            release = text("SELECT pg_advisory_unlock(:key)")
        elif name in MYSQL_DIALECTS:
            # A named lock is per server, not per database: the database's name keeps two
            # Ladles sharing one server apart.
            lock = text("SELECT GET_LOCK(CONCAT(DATABASE(), '/', :key), 600)")
            if connection.execute(lock, {"key": key}).scalar() != 1:
                raise TimeoutError(f"lock {key} was not granted within 600 s")
            release = text("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '/', :key))")
        else:
            yield connection
            return
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(release, {"key": key})
            connection.commit()
