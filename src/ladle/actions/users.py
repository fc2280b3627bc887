"""Record a user in Cloud Controller's sense (``POST /v3/users``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import apply_metadata
from ladle.config import Settings
from ladle.db.models import User
from ladle.errors import CFError
from ladle.messages.user_create import UserCreate

__all__ = ["create_user"]


def create_user(session: Session, settings: Settings, msg: UserCreate) -> User:
    if msg.guid is not None:
        duplicate = f"User with guid '{msg.guid}' already exists."
        if session.scalar(select(User.id).where(User.guid == msg.guid)) is not None:
            raise CFError("UnprocessableEntity", duplicate)
        user = User(guid=msg.guid)
    else:
        duplicate = f"User with username '{msg.username}' and origin '{msg.origin}' already exists."
        taken = session.scalar(select(User.id).where(User.username == msg.username, User.origin == msg.origin))
        if taken is not None:
            raise CFError("UnprocessableEntity", duplicate)
        # A user of another identity provider: known by name, no password here.
        user = User(username=msg.username, origin=msg.origin)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise CFError("UnprocessableEntity", duplicate) from None
    apply_metadata(session, settings, "user", user.guid, msg.metadata)
    session.commit()
    return user
