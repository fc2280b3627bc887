"""Feature flag JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.feature_flags import FlagState
from ladle.urls import Urls, link

__all__ = ["present_feature_flag"]


def present_feature_flag(flag: FlagState, urls: Urls) -> dict[str, Any]:
    return {
        "name": flag.name,
        "enabled": flag.enabled,
        "updated_at": format_timestamp(flag.updated_at),
        "custom_error_message": flag.custom_error_message,
        "links": {"self": link(urls.v3("feature_flags", flag.name))},
    }
