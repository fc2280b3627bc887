"""Droplet JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Build, Droplet
from ladle.db.states.droplet import DropletState
from ladle.presenters.build import error_text
from ladle.presenters.redaction import Redaction, redact, redact_object
from ladle.urls import Urls, link

__all__ = ["present_droplet", "present_legacy_staging"]


def _checksum(droplet: Droplet) -> dict[str, str] | None:
    if droplet.sha256:
        return {"type": "sha256", "value": droplet.sha256}
    if droplet.sha1:
        return {"type": "sha1", "value": droplet.sha1}
    return None


def present_droplet(
    droplet: Droplet, metadata: Metadata, urls: Urls, redaction: Redaction = Redaction.NONE
) -> dict[str, Any]:
    g = droplet.guid
    docker = droplet.lifecycle_type == "docker"
    links: dict[str, Any] = {
        "self": link(urls.v3("droplets", g)),
        "app": link(urls.v3("apps", droplet.app_guid)),
        "assign_current_droplet": link(urls.v3("apps", droplet.app_guid, "relationships", "current_droplet"), "PATCH"),
    }
    if droplet.package_guid:
        links["package"] = link(urls.v3("packages", droplet.package_guid))
    if droplet.state == DropletState.AWAITING_UPLOAD:
        links["upload"] = link(urls.v3("droplets", g, "upload"), "POST")
    if droplet.state == DropletState.STAGED and not docker:
        links["download"] = link(urls.v3("droplets", g, "download"))
    return {
        "guid": g,
        "created_at": format_timestamp(droplet.created_at),
        "updated_at": format_timestamp(droplet.updated_at),
        "state": droplet.state,
        "error": error_text(droplet.error_id, droplet.error_description),
        "lifecycle": {"type": droplet.lifecycle_type, "data": {}},
        "checksum": _checksum(droplet),
        "buildpacks": None if docker else list(droplet.buildpack_receipts or []),
        "stack": None if docker else droplet.stack,
        "image": droplet.image,
        "execution_metadata": redact(droplet.execution_metadata or "", redaction),
        "process_types": redact_object(droplet.process_types, redaction),
        "relationships": {"app": {"data": {"guid": droplet.app_guid}}},
        "metadata": metadata.to_dict(),
        "links": links,
    }


def present_legacy_staging(droplet: dict[str, Any], build: Build, environment: dict[str, Any]) -> dict[str, Any]:
    """The seeds' staging answer: the droplet, with the staging fields those documents showed."""
    # The seed shows the memory limit as megabytes; the buildpack's process is given "<n>m".
    shown_env = {**environment, "MEMORY_LIMIT": build.staging_memory_in_mb}
    return {
        **droplet,
        "environment_variables": shown_env,
        "staging_memory_in_mb": build.staging_memory_in_mb,
        "staging_disk_in_mb": build.staging_disk_in_mb,
    }
