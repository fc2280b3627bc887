"""Buildpack JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Buildpack
from ladle.urls import Urls, link

__all__ = ["present_buildpack"]


def present_buildpack(buildpack: Buildpack, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = buildpack.guid
    return {
        "guid": g,
        "created_at": format_timestamp(buildpack.created_at),
        "updated_at": format_timestamp(buildpack.updated_at),
        "name": buildpack.name,
        # There is no processing state: a buildpack is READY once it has bits.
        "state": "READY" if buildpack.filename else "AWAITING_UPLOAD",
        "filename": buildpack.filename,
        "stack": buildpack.stack,
        "position": buildpack.position,
        "lifecycle": buildpack.lifecycle,
        "enabled": buildpack.enabled,
        "locked": buildpack.locked,
        "metadata": metadata.to_dict(),
        "links": {"self": link(urls.v3("buildpacks", g)), "upload": link(urls.v3("buildpacks", g, "upload"), "POST")},
    }
