"""The database handle: one engine and a session factory, for SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "rows_changed"]


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` types its result loosely)."""
    return cast(CursorResult[Any], result).rowcount


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a writer commits; the busy timeout turns lock contention
    # between the API threads and job workers into waiting instead of "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            # pysqlite's own transaction handling is kept on purpose: it begins a transaction at
            # the first write, so a session never holds a read snapshot it would later have to
            # upgrade (which SQLite refuses at once instead of waiting). Check-then-write races
            # are closed by unique indexes and conditional UPDATEs instead.
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose uncommitted work is rolled back when the block ends."""
        session = self._factory()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
