"""Route and route destination JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Domain, Route, RouteDestination
from ladle.urls import Urls, link

__all__ = ["DEFAULT_APP_PORT", "present_destination", "present_destinations", "present_route", "route_url"]

# The port buildpack apps listen on ($PORT), and so where a destination without one points.
DEFAULT_APP_PORT = 8080


def route_url(route: Route, domain: Domain) -> str:
    """Schemeless, as Cloud Controller shows it: ``host.domain/path``, ``domain/path`` or ``domain:port``."""
    if route.port is not None:
        return f"{domain.name}:{route.port}"
    base = f"{route.host}.{domain.name}" if route.host else domain.name
    return f"{base}{route.path}"


def present_destination(destination: RouteDestination, route_protocol: str) -> dict[str, Any]:
    protocol = destination.protocol or ("tcp" if route_protocol == "tcp" else "http1")
    return {
        "guid": destination.guid,
        "app": {"guid": destination.app_guid, "process": {"type": destination.process_type}},
        "weight": destination.weight,
        "port": destination.port if destination.port is not None else DEFAULT_APP_PORT,
        "protocol": protocol,
        "created_at": format_timestamp(destination.created_at),
        "updated_at": format_timestamp(destination.updated_at),
    }


def present_destinations(route: Route, destinations: list[RouteDestination], urls: Urls) -> dict[str, Any]:
    """``/v3/routes/:guid/destinations``: the whole list, unpaginated."""
    return {
        "destinations": [present_destination(d, route.protocol) for d in destinations],
        "links": {
            "self": link(urls.v3("routes", route.guid, "destinations")),
            "route": link(urls.v3("routes", route.guid)),
        },
    }


def present_route(
    route: Route, domain: Domain, destinations: list[RouteDestination], metadata: Metadata, urls: Urls
) -> dict[str, Any]:
    g = route.guid
    return {
        "guid": g,
        "created_at": format_timestamp(route.created_at),
        "updated_at": format_timestamp(route.updated_at),
        "protocol": route.protocol,
        "host": route.host,
        "path": route.path,
        "port": route.port,
        "url": route_url(route, domain),
        "destinations": [present_destination(d, route.protocol) for d in destinations],
        "options": dict(route.options or {}),
        "metadata": metadata.to_dict(),
        "relationships": {
            "space": {"data": {"guid": route.space_guid}},
            "domain": {"data": {"guid": route.domain_guid}},
        },
        "links": {
            "self": link(urls.v3("routes", g)),
            "space": link(urls.v3("spaces", route.space_guid)),
            "destinations": link(urls.v3("routes", g, "destinations")),
            "domain": link(urls.v3("domains", route.domain_guid)),
        },
    }
