"""The database handle: one engine and a session factory, for SQLite, PostgreSQL or MySQL/MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import orjson
from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ladle.db.dialects import engine_options
from ladle.db.usage_events import watch_process_usage

__all__ = ["Database", "rows_changed"]


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` types its result loosely)."""
    return cast(CursorResult[Any], result).rowcount


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a writer commits; the busy timeout turns lock contention
    # between the API threads and job workers into waiting instead of "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL keeps every commit through a crash of any process (the WAL holds it when
    # the commit returns); only a power loss can take the last commits back, and never corrupts.
    # FULL would fsync each commit for that case alone: see docs/benchmarks.md (creates/s).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        parsed, kwargs = engine_options(url)
        # orjson reads and writes the JSON columns (lists of thousands of rows parse three each).
        kwargs.update(json_serializer=_json_text, json_deserializer=orjson.loads)
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.is_sqlite:
            # pysqlite's own transaction handling is kept on purpose: it begins a transaction at
            # the first write, so a session never holds a read snapshot it would later have to
            # upgrade (which SQLite refuses at once instead of waiting). Check-then-write races
            # are closed by unique indexes and conditional UPDATEs instead.
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        # App usage events follow every change of a process's usage (db/usage_events.py).
        event.listen(self._factory, "before_flush", watch_process_usage)

    @contextmanager
    def session(self, bind: Connection | None = None) -> Iterator[Session]:
        """A session whose uncommitted work is rolled back when the block ends (on ``bind``, a
        connection of the caller's, when given)."""
        session = self._factory() if bind is None else self._factory(bind=bind)
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
