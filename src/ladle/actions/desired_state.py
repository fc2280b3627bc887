"""Committing a change of desired state, then telling whoever runs instances to look again."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

__all__ = ["Notify", "commit_desired_state"]

Notify = Callable[[], None]


def commit_desired_state(session: Session, notify: Notify) -> None:
    """Commit, and only then notify: a runner woken before the commit would read the old state."""
    session.commit()
    notify()
