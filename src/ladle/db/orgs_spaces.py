"""Queries over organizations and spaces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import Organization, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["organizations_by_guid", "organizations_page", "spaces_by_guid", "spaces_page"]


def organizations_page(session: Session, perms: Permissions, params: ListParams) -> Page[Organization]:
    stmt = select(Organization)
    if not perms.reads_globally:
        stmt = stmt.where(Organization.guid.in_(perms.readable_org_guids()))
    stmt = filter_common(stmt, Organization, params, "organization")
    if "names" in params.arrays:
        stmt = stmt.where(Organization.name.in_(params.arrays["names"]))
    if "isolation_segment_guid" in params.scalars:
        stmt = stmt.where(Organization.id.is_(None))  # Ladle has no isolation segments
    return paginate(session, stmt, Organization, params)


def spaces_page(session: Session, perms: Permissions, params: ListParams) -> Page[Space]:
    stmt = select(Space)
    if not perms.reads_globally:
        stmt = stmt.where(Space.guid.in_(perms.readable_space_guids()))
    stmt = filter_common(stmt, Space, params, "space")
    if "names" in params.arrays:
        stmt = stmt.where(Space.name.in_(params.arrays["names"]))
    if "organization_guids" in params.arrays:
        stmt = stmt.where(Space.organization_guid.in_(params.arrays["organization_guids"]))
    return paginate(session, stmt, Space, params)


def organizations_by_guid(session: Session, guids: set[str]) -> list[Organization]:
    return list(
        session.scalars(
            select(Organization)
            .where(Organization.guid.in_(guids))
            .order_by(Organization.created_at, Organization.guid)
        )
    )


def spaces_by_guid(session: Session, guids: set[str]) -> list[Space]:
    return list(session.scalars(select(Space).where(Space.guid.in_(guids)).order_by(Space.created_at, Space.guid)))
