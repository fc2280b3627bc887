"""App JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import App
from ladle.urls import Urls, link, mask_credentials

__all__ = ["present_app", "present_current_droplet", "present_lifecycle"]


def present_lifecycle(lifecycle_type: str, buildpacks: list[str] | None, stack: str | None) -> dict[str, Any]:
    if lifecycle_type == "docker":
        return {"type": "docker", "data": {}}
    return {
        "type": lifecycle_type,
        "data": {"buildpacks": [mask_credentials(b) for b in buildpacks or []], "stack": stack},
    }


def present_app(app: App, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = app.guid
    return {
        "guid": g,
        "created_at": format_timestamp(app.created_at),
        "updated_at": format_timestamp(app.updated_at),
        "name": app.name,
        "state": app.state,
        "lifecycle": present_lifecycle(app.lifecycle_type, app.buildpacks, app.stack),
        "relationships": {
            "space": {"data": {"guid": app.space_guid}},
            "current_droplet": {"data": {"guid": app.droplet_guid}},
        },
        "metadata": metadata.to_dict(),
        "links": {
            "self": link(urls.v3("apps", g)),
            "environment_variables": link(urls.v3("apps", g, "environment_variables")),
            "space": link(urls.v3("spaces", app.space_guid)),
            "processes": link(urls.v3("apps", g, "processes")),
            "packages": link(urls.v3("apps", g, "packages")),
            "current_droplet": link(urls.v3("apps", g, "droplets", "current")),
            "droplets": link(urls.v3("apps", g, "droplets")),
            "tasks": link(urls.v3("apps", g, "tasks")),
            "start": link(urls.v3("apps", g, "actions", "start"), "POST"),
            "stop": link(urls.v3("apps", g, "actions", "stop"), "POST"),
            "clear_buildpack_cache": link(urls.v3("apps", g, "actions", "clear_buildpack_cache"), "POST"),
            "revisions": link(urls.v3("apps", g, "revisions")),
            "deployed_revisions": link(urls.v3("apps", g, "revisions", "deployed")),
            "features": link(urls.v3("apps", g, "features")),
        },
    }


def present_current_droplet(app: App, urls: Urls) -> dict[str, Any]:
    """The app's ``current_droplet`` relationship."""
    return {
        "data": {"guid": app.droplet_guid},
        "links": {
            "self": link(urls.v3("apps", app.guid, "relationships", "current_droplet")),
            "related": link(urls.v3("apps", app.guid, "droplets", "current")),
        },
    }
