"""Environment variable group JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import EnvironmentVariableGroup
from ladle.urls import Urls, link

__all__ = ["present_env_group"]


def present_env_group(group: EnvironmentVariableGroup, urls: Urls) -> dict[str, Any]:
    return {
        "updated_at": format_timestamp(group.updated_at),
        "name": group.name,
        "var": dict(group.environment_json or {}),
        "links": {"self": link(urls.v3("environment_variable_groups", group.name))},
    }
