"""JSON of what the platform itself defines: its security groups and the shared isolation segment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ladle.clock import format_timestamp
from ladle.sandbox.security_groups import SecurityGroup
from ladle.urls import Urls, link

__all__ = [
    "SHARED_ISOLATION_SEGMENT_GUID",
    "present_isolation_segment",
    "present_security_group",
    "security_group_guid",
]

# Cloud Foundry's fixed guid for the shared isolation segment.
SHARED_ISOLATION_SEGMENT_GUID = "933b4c58-120b-499a-b85d-4b6fc9e2903b"
_GROUPS = uuid.uuid5(uuid.NAMESPACE_URL, "https://ladle/security_groups")


def security_group_guid(name: str) -> str:
    """A guid that stays the same across restarts, as the group does."""
    return str(uuid.uuid5(_GROUPS, name))


def present_security_group(group: SecurityGroup, created_at: datetime, urls: Urls) -> dict[str, Any]:
    guid = security_group_guid(group.name)
    at = format_timestamp(created_at)
    return {
        "guid": guid,
        "created_at": at,
        "updated_at": at,
        "name": group.name,
        # The sandbox applies the same rules to staging and to running instances, everywhere.
        "globally_enabled": {"running": True, "staging": True},
        "rules": group.rules,
        "relationships": {"staging_spaces": {"data": []}, "running_spaces": {"data": []}},
        "links": {"self": link(urls.v3("security_groups", guid))},
    }


def present_isolation_segment(created_at: datetime, urls: Urls) -> dict[str, Any]:
    g = SHARED_ISOLATION_SEGMENT_GUID
    at = format_timestamp(created_at)
    return {
        "guid": g,
        "created_at": at,
        "updated_at": at,
        "name": "shared",
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": link(urls.v3("isolation_segments", g)),
            "organizations": link(urls.v3("isolation_segments", g, "organizations")),
        },
    }
