"""Queries over builds and droplets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Build, Droplet, Space
from ladle.db.permissions import Permissions
from ladle.db.states.droplet import DropletState
from ladle.messages.lists import ListParams

__all__ = ["builds_page", "droplets_page"]


def builds_page(session: Session, perms: Permissions, params: ListParams, app_guid: str | None = None) -> Page[Build]:
    stmt = readable(select(Build).join(App, App.guid == Build.app_guid), perms, App.space_guid)
    if app_guid is not None:
        stmt = stmt.where(Build.app_guid == app_guid)
    stmt = filter_common(stmt, Build, params, "build")
    arrays = params.arrays
    if "states" in arrays:
        stmt = stmt.where(Build.state.in_(arrays["states"]))
    if "app_guids" in arrays:
        stmt = stmt.where(Build.app_guid.in_(arrays["app_guids"]))
    if "package_guids" in arrays:
        stmt = stmt.where(Build.package_guid.in_(arrays["package_guids"]))
    return paginate(session, stmt, Build, params)


def droplets_page(
    session: Session,
    perms: Permissions,
    params: ListParams,
    *,
    app_guid: str | None = None,
    package_guid: str | None = None,
    current_of: str | None = None,
) -> Page[Droplet]:
    """Droplets visible to the caller. STAGING droplets are never listed (as in CC)."""
    stmt = readable(select(Droplet).join(App, App.guid == Droplet.app_guid), perms, App.space_guid)
    stmt = stmt.where(Droplet.state != DropletState.STAGING)
    if app_guid is not None:
        stmt = stmt.where(Droplet.app_guid == app_guid)
    if package_guid is not None:
        stmt = stmt.where(Droplet.package_guid == package_guid)
    if current_of is not None:
        stmt = stmt.where(Droplet.guid == select(App.droplet_guid).where(App.guid == current_of).scalar_subquery())
    stmt = filter_common(stmt, Droplet, params, "droplet")
    arrays = params.arrays
    if "states" in arrays:
        stmt = stmt.where(Droplet.state.in_(arrays["states"]))
    if "app_guids" in arrays:
        stmt = stmt.where(Droplet.app_guid.in_(arrays["app_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(App.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(
            App.space_guid.in_(select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"])))
        )
    return paginate(session, stmt, Droplet, params)
