"""Where an app lives, with names (for VCAP_APPLICATION)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.models import App, Organization, Space
from ladle.staging.environment import AppPlacement

__all__ = ["placement_of"]


def placement_of(session: Session, app: App) -> AppPlacement:
    space_name, org_guid, org_name = session.execute(
        select(Space.name, Organization.guid, Organization.name)
        .join(Organization, Organization.guid == Space.organization_guid)
        .where(Space.guid == app.space_guid)
    ).one()
    return AppPlacement(app.guid, app.name, app.space_guid, space_name, org_guid, org_name)
