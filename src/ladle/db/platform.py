"""When this platform was set up: the time Ladle shows for what it defines itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import Stack

__all__ = ["platform_created_at"]


def platform_created_at(session: Session) -> datetime:
    """The first seeded row's time (the default stack is seeded before anything else)."""
    return session.scalar(select(func.min(Stack.created_at))) or utcnow()
