"""Create and update organizations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import actor_of, organization_target, record_event
from ladle.actions.metadata_update import apply_metadata
from ladle.auth.identity import Identity
from ladle.config import Settings
from ladle.db.models import Organization, Role
from ladle.db.quotas import default_organization_quota
from ladle.errors import CFError
from ladle.messages.organization import OrganizationChange

__all__ = ["create_organization", "update_organization"]


def _name_taken(session: Session, name: str, except_guid: str | None = None) -> bool:
    stmt = select(Organization.id).where(func.lower(Organization.name) == name.lower())
    if except_guid is not None:
        stmt = stmt.where(Organization.guid != except_guid)
    return session.scalar(stmt) is not None


def create_organization(
    session: Session,
    settings: Settings,
    change: OrganizationChange,
    identity: Identity,
    *,
    request: dict[str, Any] | None = None,
) -> Organization:
    assert change.name is not None
    taken = CFError("UnprocessableEntity", f"Organization '{change.name}' already exists.")
    if _name_taken(session, change.name):
        raise taken
    default_quota = default_organization_quota(session)
    org = Organization(
        name=change.name,
        suspended=bool(change.suspended),
        quota_guid=default_quota.guid if default_quota else None,
    )
    session.add(org)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise taken from None
    if not identity.is_admin:
        # Whoever creates an org (with user_org_creation on) comes to manage it.
        for role_type in ("organization_user", "organization_manager"):
            session.add(Role(type=role_type, user_guid=identity.user_guid, organization_guid=org.guid))
    apply_metadata(session, settings, "organization", org.guid, change.metadata)
    record_event(
        session, "audit.organization.create", actor_of(identity), organization_target(org), {"request": request or {}}
    )
    session.commit()
    return org


def update_organization(
    session: Session, settings: Settings, org: Organization, change: OrganizationChange
) -> Organization:
    taken = CFError("UnprocessableEntity", f"Organization name '{change.name}' is already taken.")
    if change.name is not None:
        if _name_taken(session, change.name, except_guid=org.guid):
            raise taken
        org.name = change.name
    if change.suspended is not None:
        org.suspended = change.suspended
    apply_metadata(session, settings, "organization", org.guid, change.metadata)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise taken from None
    return org
