"""User JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import User
from ladle.urls import Urls, link

__all__ = ["present_user"]


def present_user(user: User, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    return {
        "guid": user.guid,
        "created_at": format_timestamp(user.created_at),
        "updated_at": format_timestamp(user.updated_at),
        "username": user.username,
        "presentation_name": user.username or user.guid,
        "origin": user.origin,
        "metadata": metadata.to_dict(),
        "links": {"self": link(urls.v3("users", quote(user.guid, safe="")))},
    }
