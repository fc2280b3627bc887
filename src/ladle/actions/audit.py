"""Recording audit events (``audit.app.*``, ``app.crash``, ...) in the caller's transaction.

Cloud Controller names a user actor by the token's email (empty when there is none) and hides
the values of environment variables in ``data.request``. The events API reads these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.auth.identity import Identity
from ladle.db.models import App, AuditEvent, Organization, Space, User

__all__ = [
    "PRIVATE_DATA_HIDDEN",
    "Actor",
    "Target",
    "actor_of",
    "app_target",
    "hide_environment",
    "organization_target",
    "record_app_event",
    "record_event",
    "space_target",
    "user_actor",
]

PRIVATE_DATA_HIDDEN = "[PRIVATE DATA HIDDEN]"


@dataclass(frozen=True)
class Actor:
    guid: str
    type: str
    name: str


@dataclass(frozen=True)
class Target:
    guid: str
    type: str
    name: str
    space_guid: str | None = None
    organization_guid: str | None = None


def actor_of(identity: Identity) -> Actor:
    return Actor(identity.user_guid, "user", identity.email or "")


def record_event(
    session: Session, event_type: str, actor: Actor | None, target: Target, data: dict[str, Any] | None = None
) -> AuditEvent:
    event = AuditEvent(
        type=event_type,
        actor_guid=actor.guid if actor else None,
        actor_type=actor.type if actor else None,
        actor_name=actor.name if actor else None,
        target_guid=target.guid,
        target_type=target.type,
        target_name=target.name,
        data=data or {},
        space_guid=target.space_guid,
        organization_guid=target.organization_guid,
    )
    session.add(event)
    return event


def app_target(app: App, organization_guid: str) -> Target:
    """An app as the target of an ``audit.app.*`` event."""
    return Target(app.guid, "app", app.name, app.space_guid, organization_guid)


def user_actor(session: Session, user_guid: str) -> Actor:
    """The user who asked, when only their guid came along (jobs, uploads)."""
    email = session.scalar(select(User.email).where(User.guid == user_guid))
    return Actor(user_guid, "user", email or "")


def record_app_event(
    session: Session, event_type: str, actor: Actor | None, app: App, data: dict[str, Any] | None = None
) -> AuditEvent:
    """An ``audit.app.*`` event on ``app``, whose organization is looked up."""
    org_guid = session.scalar(select(Space.organization_guid).where(Space.guid == app.space_guid))
    return record_event(session, event_type, actor, app_target(app, org_guid or ""), data)


def hide_environment(request: dict[str, Any]) -> dict[str, Any]:
    """A request body as an event keeps it: environment variable values are never stored."""
    if "environment_variables" in request:
        return {**request, "environment_variables": PRIVATE_DATA_HIDDEN}
    return request


def space_target(space: Space) -> Target:
    return Target(space.guid, "space", space.name, space.guid, space.organization_guid)


def organization_target(org: Organization) -> Target:
    return Target(org.guid, "organization", org.name, None, org.guid)
