"""Package JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Package
from ladle.urls import Urls, link

__all__ = ["present_package"]


def _data(package: Package) -> dict[str, Any]:
    if package.type == "docker":
        return {
            "image": package.docker_image,
            "username": package.docker_username,
            "password": None if package.docker_username is None else "***",
        }
    if package.sha256 is None and package.sha1 is not None:
        checksum: dict[str, str | None] = {"type": "sha1", "value": package.sha1}
    else:
        checksum = {"type": "sha256", "value": package.sha256}
    return {"error": package.error, "checksum": checksum}


def present_package(package: Package, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = package.guid
    links: dict[str, Any] = {"self": link(urls.v3("packages", g))}
    if package.type == "bits":
        links["upload"] = link(urls.v3("packages", g, "upload"), "POST")
        links["download"] = link(urls.v3("packages", g, "download"))
    links["app"] = link(urls.v3("apps", package.app_guid))
    return {
        "guid": g,
        "created_at": format_timestamp(package.created_at),
        "updated_at": format_timestamp(package.updated_at),
        "type": package.type,
        "data": _data(package),
        "state": package.state,
        "relationships": {"app": {"data": {"guid": package.app_guid}}},
        "metadata": metadata.to_dict(),
        "links": links,
    }
