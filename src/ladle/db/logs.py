"""Reading and pruning stored staging log lines."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ladle.db.models import Build, LogLine
from ladle.db.session import rows_changed

__all__ = ["build_lines_after", "prune_log_lines", "read_lines"]


def read_lines(
    session: Session, source_guid: str, *, start: int, end: int, limit: int, descending: bool
) -> list[LogLine]:
    """Lines with ``start <= timestamp < end``; the newest first when ``descending``."""
    order = LogLine.timestamp.desc() if descending else LogLine.timestamp.asc()
    stmt = (
        select(LogLine)
        .where(LogLine.source_guid == source_guid, LogLine.timestamp >= start, LogLine.timestamp < end)
        .order_by(order)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def build_lines_after(
    session: Session, build_guid: str, after: int, limit: int = 1000
) -> tuple[list[LogLine], str | None]:
    """A build's lines stored after line ``after`` (by id), and the build's state (None if gone),
    read together so a follower knows whether more can come."""
    state = session.scalar(select(Build.state).where(Build.guid == build_guid))
    rows = session.scalars(
        select(LogLine).where(LogLine.build_guid == build_guid, LogLine.id > after).order_by(LogLine.id).limit(limit)
    )
    return list(rows), state


def prune_log_lines(session: Session, keep_per_source: int) -> int:
    """Keep the newest ``keep_per_source`` lines of each app (log-cache keeps a bounded window too)."""
    removed = 0
    crowded = (
        session.execute(
            select(LogLine.source_guid).group_by(LogLine.source_guid).having(func.count() > keep_per_source)
        )
        .scalars()
        .all()
    )
    for source in crowded:
        cutoff = session.scalar(
            select(LogLine.timestamp)
            .where(LogLine.source_guid == source)
            .order_by(LogLine.timestamp.desc())
            .offset(keep_per_source - 1)
            .limit(1)
        )
        if cutoff is not None:
            result = session.execute(delete(LogLine).where(LogLine.source_guid == source, LogLine.timestamp < cutoff))
            removed += rows_changed(result)
    session.commit()
    return removed
