"""Recording audit events (``audit.app.*``, ``app.crash``, ...) in the caller's transaction.

Cloud Controller names a user actor by the token's email (empty when there is none) and hides
the values of environment variables in ``data.request``. The events API reads these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ladle.auth.identity import Identity
from ladle.db.models import AuditEvent

__all__ = ["PRIVATE_DATA_HIDDEN", "Actor", "Target", "actor_of", "record_event"]

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
