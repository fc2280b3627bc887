"""Where an app lives, with names (for VCAP_APPLICATION)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.models import App, Organization, Space

__all__ = ["AppPlacement", "placement_of"]


@dataclass(frozen=True)
class AppPlacement:
    """An app with the names of where it lives."""

    app_guid: str
    app_name: str
    space_guid: str
    space_name: str
    org_guid: str
    org_name: str


def placement_of(session: Session, app: App) -> AppPlacement:
    space_name, org_guid, org_name = session.execute(
        select(Space.name, Organization.guid, Organization.name)
        .join(Organization, Organization.guid == Space.organization_guid)
        .where(Space.guid == app.space_guid)
    ).one()
    return AppPlacement(app.guid, app.name, app.space_guid, space_name, org_guid, org_name)
