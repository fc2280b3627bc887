"""Fetching single rows by guid, and the small joins permission checks need."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db import models
from ladle.db.models import App, Organization, Resource, Space
from ladle.db.permissions import SpaceRef

__all__ = ["by_guid", "resource_exists", "space_ref", "space_ref_of_app"]

R = TypeVar("R", bound=Resource)

# Job resource types and the tables they name.
RESOURCE_TABLES: dict[str, type[Resource]] = {
    "app": App,
    "space": Space,
    "organization": Organization,
    "role": models.Role,
    "package": models.Package,
    "build": models.Build,
    "droplet": models.Droplet,
    "buildpack": models.Buildpack,
    "route": models.Route,
    "domain": models.Domain,
}


def by_guid(session: Session, model: type[R], guid: str) -> R | None:
    return session.scalars(select(model).where(model.guid == guid)).first()


def resource_exists(session: Session, resource_type: str | None, guid: str | None) -> bool:
    model = RESOURCE_TABLES.get(resource_type or "")
    if model is None or guid is None:
        return False
    return session.scalar(select(model.id).where(model.guid == guid)) is not None


def space_ref(session: Session, space_guid: str) -> SpaceRef | None:
    row = session.execute(
        select(Space.organization_guid, Organization.suspended)
        .join(Organization, Organization.guid == Space.organization_guid)
        .where(Space.guid == space_guid)
    ).first()
    return None if row is None else SpaceRef(space_guid, row[0], bool(row[1]))


def space_ref_of_app(session: Session, app: App) -> SpaceRef:
    ref = space_ref(session, app.space_guid)
    assert ref is not None, "an app always lives in a space"
    return ref
