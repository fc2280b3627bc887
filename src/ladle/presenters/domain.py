"""Domain JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Domain
from ladle.urls import Urls, link

__all__ = ["present_domain"]


def present_domain(domain: Domain, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = domain.guid
    org = domain.organization_guid
    links = {
        "self": link(urls.v3("domains", g)),
        "route_reservations": link(urls.v3("domains", g, "route_reservations")),
    }
    if org is not None:
        links["organization"] = link(urls.v3("organizations", org))
        links["shared_organizations"] = link(urls.v3("domains", g, "relationships", "shared_organizations"))
    return {
        "guid": g,
        "created_at": format_timestamp(domain.created_at),
        "updated_at": format_timestamp(domain.updated_at),
        "name": domain.name,
        "internal": domain.internal,
        "router_group": None,
        "supported_protocols": ["http"],
        "metadata": metadata.to_dict(),
        "relationships": {
            "organization": {"data": {"guid": org} if org else None},
            "shared_organizations": {"data": []},
        },
        "links": links,
    }
