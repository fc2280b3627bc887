"""Revoked tokens: checked on every authenticated request, so a logged-out token stops working."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import RevokedToken

__all__ = ["is_revoked", "prune_revoked", "record_revoked"]


def is_revoked(session: Session, jti: str) -> bool:
    return bool(jti) and session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is not None


def record_revoked(session: Session, jtis: list[str], expires_at: datetime) -> None:
    for jti in jtis:
        if not is_revoked(session, jti):
            session.add(RevokedToken(jti=jti, expires_at=expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # revoked concurrently: the outcome is the same


def prune_revoked(session: Session) -> None:
    """Expired tokens fail verification anyway; their revocation rows can go."""
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    session.commit()
