"""App usage event JSON, in Cloud Controller's key order."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import AppUsageEvent
from ladle.urls import Urls, link

__all__ = ["present_app_usage_event"]


def present_app_usage_event(event: AppUsageEvent, urls: Urls) -> dict[str, Any]:
    at = format_timestamp(event.created_at)
    return {
        "guid": event.guid,
        "created_at": at,
        "updated_at": at,
        "state": {"current": event.state, "previous": event.previous_state},
        "app": {"guid": event.app_guid, "name": event.app_name},
        "process": {"guid": event.process_guid, "type": event.process_type},
        "space": {"guid": event.space_guid, "name": event.space_name},
        "organization": {"guid": event.organization_guid},
        "buildpack": {"guid": event.buildpack_guid, "name": event.buildpack_name},
        "task": {"guid": event.task_guid, "name": event.task_name},
        "memory_in_mb_per_instance": {
            "current": event.memory_in_mb_per_instance,
            "previous": event.previous_memory_in_mb_per_instance,
        },
        "instance_count": {"current": event.instance_count, "previous": event.previous_instance_count},
        "links": {"self": link(urls.v3("app_usage_events", event.guid))},
    }
