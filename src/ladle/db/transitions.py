"""The one way builds, packages and droplets change state: a conditional update from the expected state.

Two writers (an upload job and a delete, a stager and a cancel) can then never both win, and
whoever loses knows it from the returned flag and tidies up after itself.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, update
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import Build, Droplet, Package

__all__ = ["move_state", "rows_changed"]


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` types its result loosely)."""
    return cast(CursorResult[Any], result).rowcount


def move_state(
    session: Session, model: type[Build] | type[Package] | type[Droplet], guid: str, expected: str, **values: object
) -> bool:
    """Move the row on from ``expected`` (and only from it); False if it was not there."""
    result = session.execute(
        update(model)
        .where(model.guid == guid, model.state == expected)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) > 0
