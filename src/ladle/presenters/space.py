"""Space JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Space
from ladle.urls import Urls, link

__all__ = ["present_space"]


def present_space(space: Space, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = space.guid
    links = {
        "self": link(urls.v3("spaces", g)),
        "organization": link(urls.v3("organizations", space.organization_guid)),
        "features": link(urls.v3("spaces", g, "features")),
        "apply_manifest": link(urls.v3("spaces", g, "actions", "apply_manifest"), "POST"),
    }
    if space.quota_guid is not None:
        links["quota"] = link(urls.v3("space_quotas", space.quota_guid))
    return {
        "guid": g,
        "created_at": format_timestamp(space.created_at),
        "updated_at": format_timestamp(space.updated_at),
        "name": space.name,
        "relationships": {
            "organization": {"data": {"guid": space.organization_guid}},
            "quota": {"data": None if space.quota_guid is None else {"guid": space.quota_guid}},
        },
        "metadata": metadata.to_dict(),
        "links": links,
    }
