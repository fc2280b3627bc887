"""The one way packages and droplets change state: a conditional update from the expected state.

Two writers (an upload job and a delete, a stager and a cancel) can then never both win, and
whoever loses knows it from the returned flag and tidies up after itself.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import Droplet, Package

__all__ = ["move_state"]


def move_state(
    session: Session, model: type[Package] | type[Droplet], guid: str, expected: str, **values: object
) -> bool:
    """Move the row on from ``expected`` (and only from it); False if it was not there."""
    result = session.execute(
        update(model)
        .where(model.guid == guid, model.state == expected)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
