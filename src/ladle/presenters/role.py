"""Role JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import Role
from ladle.urls import Urls, link

__all__ = ["present_role"]


def present_role(role: Role, urls: Urls) -> dict[str, Any]:
    user = {"data": {"guid": role.user_guid}}
    links: dict[str, Any] = {
        "self": link(urls.v3("roles", role.guid)),
        "user": link(urls.v3("users", role.user_guid)),
    }
    if role.space_guid is not None:
        relationships = {
            "user": user,
            "space": {"data": {"guid": role.space_guid}},
            "organization": {"data": None},
        }
        links["space"] = link(urls.v3("spaces", role.space_guid))
    else:
        relationships = {
            "user": user,
            "organization": {"data": {"guid": role.organization_guid}},
            "space": {"data": None},
        }
        links["organization"] = link(urls.v3("organizations", role.organization_guid or ""))
    return {
        "guid": role.guid,
        "created_at": format_timestamp(role.created_at),
        "updated_at": format_timestamp(role.updated_at),
        "type": role.type,
        "relationships": relationships,
        "links": links,
    }
