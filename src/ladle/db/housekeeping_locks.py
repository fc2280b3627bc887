"""Cluster-wide turns for periodic tasks: one conditional update decides which node runs a task.

Every node that keeps house asks for a task's turn when it is due locally; the row's
``last_started_at`` says when any node last started it, so a task runs once per interval across
the cluster however many nodes ask. ``held_until`` keeps a second node from starting a task that
is still running (a node that dies while holding it only delays the next turn until then).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from ladle.clock import utcnow
from ladle.db.models import HousekeepingLock
from ladle.db.session import Database, rows_changed

__all__ = ["release_turn", "take_turn"]


def _ensure_row(db: Database, name: str) -> None:
    with db.session() as s:
        if s.get(HousekeepingLock, name) is not None:
            return
        s.add(HousekeepingLock(name=name))
        try:
            s.commit()
        except IntegrityError:
            s.rollback()  # another node made it first


def take_turn(db: Database, name: str, holder: str, interval: timedelta, hold: timedelta) -> bool:
    """Whether ``holder`` may run task ``name`` now: nobody started it within ``interval`` and
    nobody holds it. Taking the turn records it for every node."""
    _ensure_row(db, name)
    now = utcnow()
    with db.session() as s:
        result = s.execute(
            update(HousekeepingLock)
            .where(
                HousekeepingLock.name == name,
                or_(HousekeepingLock.last_started_at.is_(None), HousekeepingLock.last_started_at <= now - interval),
                or_(HousekeepingLock.held_until.is_(None), HousekeepingLock.held_until < now),
            )
            .values(holder=holder, last_started_at=now, held_until=now + hold)
            .execution_options(synchronize_session=False)
        )
        s.commit()
        return rows_changed(result) == 1


def release_turn(db: Database, name: str, holder: str) -> None:
    with db.session() as s:
        s.execute(
            update(HousekeepingLock)
            .where(HousekeepingLock.name == name, HousekeepingLock.holder == holder)
            .values(held_until=None)
            .execution_options(synchronize_session=False)
        )
        s.commit()
