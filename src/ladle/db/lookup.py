"""Fetching single rows by guid, and the small joins permission checks need."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ladle.db import models
from ladle.db.models import App, Organization, Resource, Space
from ladle.db.permissions import SpaceRef

__all__ = ["app_with_space_ref", "by_guid", "by_guid_with_app", "resource_exists", "space_ref", "space_ref_of_app"]

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
    "organization_quota": models.OrganizationQuota,
    "space_quota": models.SpaceQuota,
}


# Statements built once and reused: building a SELECT and its cache key costs more than SQLite
# takes to answer it, and these run on nearly every request.
_BY_GUID: dict[type[Resource], Select[Any]] = {}
_SPACE_REF = (
    select(Space.organization_guid, Organization.suspended)
    .join(Organization, Organization.guid == Space.organization_guid)
    .where(Space.guid == bindparam("guid"))
)


def by_guid(session: Session, model: type[R], guid: str) -> R | None:
    statement = _BY_GUID.get(model)
    if statement is None:
        statement = _BY_GUID[model] = select(model).where(model.guid == bindparam("guid")).limit(1)
    found: R | None = session.scalars(statement, {"guid": guid}).first()
    return found


def _where_app_lives(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """``statement`` (which reaches ``App``) with the app's org and whether it is suspended."""
    return (
        statement.add_columns(Space.organization_guid, Organization.suspended)
        .join(Space, Space.guid == App.space_guid)
        .join(Organization, Organization.guid == Space.organization_guid)
    )


def _ref(app: App, org_guid: str, suspended: bool | None) -> SpaceRef:
    return SpaceRef(app.space_guid, org_guid, bool(suspended))


_WITH_APP: dict[type[Any], Select[*tuple[Any, ...]]] = {}


def by_guid_with_app(session: Session, model: type[R], guid: str) -> tuple[R, App, SpaceRef] | None:
    """A row that belongs to an app (``model.app_guid``), with its app and where the app lives,
    in one round trip (a single-resource GET would otherwise make three)."""
    statement = _WITH_APP.get(model)
    if statement is None:
        owner: Any = model
        joined = select(model, App).join(App, App.guid == owner.app_guid)
        statement = _WITH_APP[model] = _where_app_lives(joined).where(owner.guid == bindparam("guid")).limit(1)
    found = session.execute(statement, {"guid": guid}).first()
    if found is None:
        return None
    row, app, org_guid, suspended = found
    return row, app, _ref(app, org_guid, suspended)


_APP_WITH_REF = _where_app_lives(select(App)).where(App.guid == bindparam("guid")).limit(1)


def app_with_space_ref(session: Session, guid: str) -> tuple[App, SpaceRef] | None:
    """An app and where it lives, in one round trip."""
    found = session.execute(_APP_WITH_REF, {"guid": guid}).first()
    if found is None:
        return None
    app, org_guid, suspended = found
    return app, _ref(app, org_guid, suspended)


def resource_exists(session: Session, resource_type: str | None, guid: str | None) -> bool:
    model = RESOURCE_TABLES.get(resource_type or "")
    if model is None or guid is None:
        return False
    return session.scalar(select(model.id).where(model.guid == guid)) is not None


def space_ref(session: Session, space_guid: str) -> SpaceRef | None:
    row = session.execute(_SPACE_REF, {"guid": space_guid}).first()
    return None if row is None else SpaceRef(space_guid, row[0], bool(row[1]))


def space_ref_of_app(session: Session, app: App) -> SpaceRef:
    ref = space_ref(session, app.space_guid)
    assert ref is not None, "an app always lives in a space"
    return ref
