"""Add a user to the embedded token server (``ladle user add`` and SCIM ``POST /Users``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ladle.auth.passwords import hash_password
from ladle.auth.tokens import ADMIN_USER_SCOPES, DEFAULT_USER_SCOPES
from ladle.db.models import User
from ladle.db.session import Database

__all__ = ["UserExists", "add_user"]


class UserExists(Exception):
    pass


def add_user(
    db: Database,
    username: str,
    password: str,
    *,
    admin: bool = False,
    email: str | None = None,
    extra_scopes: Sequence[str] = (),
    origin: str = "uaa",
) -> str:
    scopes = list(ADMIN_USER_SCOPES if admin else DEFAULT_USER_SCOPES)
    scopes += [s for s in extra_scopes if s not in scopes]
    with db.session() as s:
        if s.scalar(select(User.id).where(User.username == username, User.origin == origin)) is not None:
            raise UserExists(f"a user named {username!r} already exists")
        user = User(
            username=username,
            origin=origin,
            email=email or username,
            password_hash=hash_password(password),
            scopes=" ".join(scopes),
        )
        s.add(user)
        try:
            s.commit()
        except IntegrityError:
            raise UserExists(f"a user named {username!r} already exists") from None
        return user.guid
