"""Revoked tokens: checked on every authenticated request, so a logged-out token stops working.

The check runs on every request with the same few tokens, and the answer is almost always "not
revoked", so that answer is remembered for a moment (``RECHECK_SECONDS``). A revocation made by
this process forgets it at once; one made by another API process is seen within that moment.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import JTI_LENGTH, RevokedToken, User

__all__ = ["bearer_refused", "is_revoked", "prune_revoked", "record_revoked"]

RECHECK_SECONDS = 1.0
_MAX_REMEMBERED = 10_000


class _NotRevoked:
    """jti -> when it was last found not revoked (monotonic seconds)."""

    def __init__(self) -> None:
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def fresh(self, jti: str) -> bool:
        checked = self._checked.get(jti)
        return checked is not None and time.monotonic() - checked < RECHECK_SECONDS

    def remember(self, jti: str) -> None:
        with self._lock:
            if len(self._checked) >= _MAX_REMEMBERED:
                self._checked.clear()
            self._checked[jti] = time.monotonic()

    def forget(self, jti: str) -> None:
        with self._lock:
            self._checked.pop(jti, None)


_not_revoked = _NotRevoked()


def is_revoked(session: Session, jti: str) -> bool:
    if not jti:
        return False
    if _not_revoked.fresh(jti):
        return False
    revoked = session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is not None
    if not revoked:
        _not_revoked.remember(jti)
    return revoked


def bearer_refused(session: Session, jti: str, user_guid: str | None) -> bool:
    """Whether a verified token is refused all the same: revoked, or (``user_guid`` given) issued
    to a user who no longer exists. At most one query, since every request asks; an answer of
    "accepted" is remembered like "not revoked" (a user deleted meanwhile is refused within
    ``RECHECK_SECONDS``)."""
    if user_guid is None:
        return is_revoked(session, jti)
    # Keyed by the jti alone (a token names one user), so a revocation here forgets it at once.
    if jti and _not_revoked.fresh(jti):
        return False
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == jti).exists()
    known = select(User.id).where(User.guid == user_guid).exists()
    row = session.execute(select(revoked.label("revoked"), known.label("known"))).one()
    refused = bool(row.revoked) or not row.known
    if not refused and jti:
        _not_revoked.remember(jti)
    return refused


def record_revoked(session: Session, jtis: list[str], expires_at: datetime) -> None:
    for jti in jtis:
        # Longer than any token id can be: no token to revoke (and no row could hold it).
        if len(jti) > JTI_LENGTH:
            continue
        if session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is None:
            session.add(RevokedToken(jti=jti, expires_at=expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # revoked concurrently: the outcome is the same
    for jti in jtis:
        # After the commit: a check made meanwhile may have remembered it as not revoked.
        _not_revoked.forget(jti)


def prune_revoked(session: Session) -> None:
    """Expired tokens fail verification anyway; their revocation rows can go."""
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    session.commit()
