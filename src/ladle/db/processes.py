"""Queries over processes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Droplet, Process, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["ProcessContext", "image_user", "process_contexts", "process_of_app", "processes_page"]


@dataclass(frozen=True)
class ProcessContext:
    """What a process's JSON needs from its app."""

    space_guid: str
    lifecycle_type: str
    detected_commands: dict[str, str]
    # The user a docker image asks to run as (from its staged execution metadata), if any.
    image_user: str | None = None

    @property
    def default_user(self) -> str:
        if self.lifecycle_type == "docker":
            return self.image_user or "root"
        return "vcap"


def processes_page(
    session: Session, perms: Permissions, params: ListParams, app_guid: str | None = None
) -> Page[Process]:
    stmt = readable(select(Process).join(App, App.guid == Process.app_guid), perms, App.space_guid)
    if app_guid is not None:
        stmt = stmt.where(Process.app_guid == app_guid)
    stmt = filter_common(stmt, Process, params, "process")
    arrays = params.arrays
    if "types" in arrays:
        stmt = stmt.where(Process.type.in_(arrays["types"]))
    if "app_guids" in arrays:
        stmt = stmt.where(Process.app_guid.in_(arrays["app_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(App.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(
            App.space_guid.in_(select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"])))
        )
    return paginate(session, stmt, Process, params)


def process_contexts(session: Session, app_guids: set[str]) -> dict[str, ProcessContext]:
    rows = session.execute(
        select(App.guid, App.space_guid, App.lifecycle_type, Droplet.process_types, Droplet.execution_metadata)
        .outerjoin(Droplet, Droplet.guid == App.droplet_guid)
        .where(App.guid.in_(app_guids))
    )
    # A process without a command of its own runs what the current droplet detected for its type.
    return {
        guid: ProcessContext(space, lifecycle, {str(k): str(v) for k, v in (types or {}).items()}, image_user(metadata))
        for guid, space, lifecycle, types, metadata in rows
    }


def image_user(execution_metadata: str | None) -> str | None:
    try:
        user = json.loads(execution_metadata or "{}").get("user")
    except (ValueError, AttributeError):
        return None
    return user if isinstance(user, str) and user else None


def process_of_app(session: Session, app_guid: str, process_type: str) -> Process | None:
    return session.scalars(select(Process).where(Process.app_guid == app_guid, Process.type == process_type)).first()
