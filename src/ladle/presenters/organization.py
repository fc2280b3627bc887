"""Organization JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Organization
from ladle.urls import Urls, link

__all__ = ["present_organization"]


def present_organization(org: Organization, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = org.guid
    links = {
        "self": link(urls.v3("organizations", g)),
        "domains": link(urls.v3("organizations", g, "domains")),
        "default_domain": link(urls.v3("organizations", g, "domains", "default")),
    }
    if org.quota_guid is not None:
        links["quota"] = link(urls.v3("organization_quotas", org.quota_guid))
    return {
        "guid": g,
        "created_at": format_timestamp(org.created_at),
        "updated_at": format_timestamp(org.updated_at),
        "name": org.name,
        "suspended": org.suspended,
        "relationships": {"quota": {"data": None if org.quota_guid is None else {"guid": org.quota_guid}}},
        "metadata": metadata.to_dict(),
        "links": links,
    }
