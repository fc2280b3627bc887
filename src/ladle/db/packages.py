"""Queries over packages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Package, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["packages_page"]


def packages_page(
    session: Session, perms: Permissions, params: ListParams, app_guid: str | None = None
) -> Page[Package]:
    stmt = select(Package).join(App, App.guid == Package.app_guid)
    stmt = readable(stmt, perms, App.space_guid)
    if app_guid is not None:
        stmt = stmt.where(Package.app_guid == app_guid)
    stmt = filter_common(stmt, Package, params, "package")
    arrays = params.arrays
    if "states" in arrays:
        stmt = stmt.where(Package.state.in_(arrays["states"]))
    if "types" in arrays:
        stmt = stmt.where(Package.type.in_(arrays["types"]))
    if "app_guids" in arrays:
        stmt = stmt.where(Package.app_guid.in_(arrays["app_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(App.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(
            App.space_guid.in_(select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"])))
        )
    return paginate(session, stmt, Package, params)
