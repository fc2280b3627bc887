"""Queries over apps: the filtered list, and what ``include`` pulls in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Organization, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["apps_page", "included_spaces_and_orgs", "readable"]


def readable(stmt: Select[Any], perms: Permissions, space_column: Any) -> Select[Any]:
    """Limit a query to rows in spaces the caller may read (global readers see everything)."""
    if perms.reads_globally:
        return stmt
    return stmt.where(space_column.in_(perms.readable_space_guids()))


def apps_page(session: Session, perms: Permissions, params: ListParams) -> Page[App]:
    stmt = readable(select(App), perms, App.space_guid)
    stmt = filter_common(stmt, App, params, "app")
    arrays = params.arrays
    if "names" in arrays:
        stmt = stmt.where(App.name.in_(arrays["names"]))
    if "space_guids" in arrays:
        stmt = stmt.where(App.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(
            App.space_guid.in_(select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"])))
        )
    if "stacks" in arrays:
        stacks = [s for s in arrays["stacks"] if s != ""]
        wants_none = "" in arrays["stacks"]
        condition = App.stack.in_(stacks)
        stmt = stmt.where(condition | App.stack.is_(None) if wants_none else condition)
    if "lifecycle_type" in params.scalars:
        stmt = stmt.where(App.lifecycle_type == params.scalars["lifecycle_type"])
    return paginate(session, stmt, App, params)


def included_spaces_and_orgs(
    session: Session, perms: Permissions, space_guids: list[str]
) -> tuple[list[Space], list[Organization]]:
    """The spaces (that the caller may read) and their orgs, ordered by creation."""
    stmt = readable(select(Space).where(Space.guid.in_(space_guids)), perms, Space.guid)
    spaces = list(session.scalars(stmt.order_by(Space.created_at, Space.id)))
    org_guids = {s.organization_guid for s in spaces}
    orgs = list(
        session.scalars(
            select(Organization)
            .where(Organization.guid.in_(org_guids))
            .order_by(Organization.created_at, Organization.id)
        )
    )
    return spaces, orgs
