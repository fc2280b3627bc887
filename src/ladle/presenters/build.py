"""Build JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Build
from ladle.presenters.app import present_lifecycle
from ladle.urls import Urls, link

__all__ = ["error_text", "present_build"]


def error_text(error_id: str | None, description: str | None) -> str | None:
    """``"<id> - <description>"``, or whichever part is set."""
    if not error_id:
        return description or None
    return f"{error_id} - {description}" if description else error_id


def present_build(build: Build, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = build.guid
    links: dict[str, Any] = {"self": link(urls.v3("builds", g)), "app": link(urls.v3("apps", build.app_guid))}
    droplet = None
    if build.droplet_guid is not None:
        droplet = {"guid": build.droplet_guid}
        links["droplet"] = link(urls.v3("droplets", build.droplet_guid))
    return {
        "guid": g,
        "created_at": format_timestamp(build.created_at),
        "updated_at": format_timestamp(build.updated_at),
        "state": build.state,
        "staging_memory_in_mb": build.staging_memory_in_mb,
        "staging_disk_in_mb": build.staging_disk_in_mb,
        "staging_log_rate_limit_bytes_per_second": build.staging_log_rate_limit,
        "error": error_text(build.error_id, build.error_description),
        "lifecycle": present_lifecycle(build.lifecycle_type, build.buildpacks, build.stack),
        "package": {"guid": build.package_guid},
        "droplet": droplet,
        "created_by": {"guid": build.created_by_guid, "name": build.created_by_name, "email": build.created_by_email},
        "relationships": {"app": {"data": {"guid": build.app_guid}}},
        "metadata": metadata.to_dict(),
        "links": links,
    }
