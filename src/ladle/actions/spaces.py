"""Create and update spaces."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, record_event, space_target
from ladle.actions.metadata_update import apply_metadata
from ladle.config import Settings
from ladle.db.models import Organization, Space
from ladle.errors import CFError
from ladle.messages.space import SpaceChange

__all__ = ["create_space", "update_space"]


def _name_taken(session: Session, org_guid: str, name: str, except_guid: str | None = None) -> bool:
    stmt = select(Space.id).where(Space.organization_guid == org_guid, func.lower(Space.name) == name.lower())
    if except_guid is not None:
        stmt = stmt.where(Space.guid != except_guid)
    return session.scalar(stmt) is not None


def create_space(
    session: Session,
    settings: Settings,
    org: Organization,
    change: SpaceChange,
    actor: Actor | None = None,
    *,
    request: dict[str, Any] | None = None,
) -> Space:
    assert change.name is not None
    taken = CFError("UnprocessableEntity", "Name must be unique per organization")
    if _name_taken(session, org.guid, change.name):
        raise taken
    space = Space(name=change.name, organization_guid=org.guid)
    session.add(space)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise taken from None
    apply_metadata(session, settings, "space", space.guid, change.metadata)
    record_event(session, "audit.space.create", actor, space_target(space), {"request": request or {}})
    session.commit()
    return space


def update_space(session: Session, settings: Settings, space: Space, org: Organization, change: SpaceChange) -> Space:
    if change.name is not None:
        taken = CFError(
            "UnprocessableEntity",
            f"Organization '{org.name}' already contains a space with name '{change.name}'.",
        )
        if _name_taken(session, org.guid, change.name, except_guid=space.guid):
            raise taken
        space.name = change.name
    apply_metadata(session, settings, "space", space.guid, change.metadata)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise CFError("UnprocessableEntity", "Name must be unique per organization") from None
    return space
