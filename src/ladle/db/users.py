"""Users as Cloud Controller knows them: a row appears once added, or when first seen in a token."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.auth.identity import Identity
from ladle.db.models import User

__all__ = ["SeenUsers"]


class SeenUsers:
    """Remembers which token bearers already have a user row, so only the first request writes."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, session: Session, identity: Identity) -> None:
        with self._lock:
            if identity.user_guid in self._seen:
                return
        if session.scalar(select(User.id).where(User.guid == identity.user_guid)) is None:
            session.add(
                User(
                    guid=identity.user_guid,
                    username=identity.username,
                    origin=identity.origin,
                    email=identity.email,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                # Another request recorded it first, or a different user holds that username:
                # either way the row we need exists or is not ours to create.
                session.rollback()
        with self._lock:
            self._seen.add(identity.user_guid)
