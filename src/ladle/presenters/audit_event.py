"""Audit event JSON (``cf events``)."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import AuditEvent
from ladle.urls import Urls, link

__all__ = ["present_audit_event"]


def present_audit_event(event: AuditEvent, urls: Urls) -> dict[str, Any]:
    at = format_timestamp(event.created_at)
    actor = (
        None
        if event.actor_guid is None
        else {"guid": event.actor_guid, "type": event.actor_type, "name": event.actor_name}
    )
    target = (
        None
        if event.target_guid is None
        else {"guid": event.target_guid, "type": event.target_type, "name": event.target_name}
    )
    return {
        "guid": event.guid,
        "created_at": at,
        "updated_at": at,
        "type": event.type,
        "actor": actor,
        "target": target,
        "data": event.data or {},
        "space": None if event.space_guid is None else {"guid": event.space_guid},
        "organization": None if event.organization_guid is None else {"guid": event.organization_guid},
        "links": {"self": link(urls.v3("audit_events", event.guid))},
    }
