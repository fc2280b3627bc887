"""An app's environment documents: ``/env``, ``/environment_variables`` and ``/permissions``."""

from __future__ import annotations

from typing import Any

from ladle.db.models import App
from ladle.db.placement import AppPlacement
from ladle.staging.environment import vcap_application
from ladle.urls import Urls, link

__all__ = ["present_env", "present_env_vars", "present_permissions"]


def present_env(
    app: App,
    placement: AppPlacement,
    cf_api: str,
    *,
    staging_group: dict[str, Any],
    running_group: dict[str, Any],
    vcap_services: dict[str, Any],
    with_secrets: bool,
) -> dict[str, Any]:
    """``VCAP_SERVICES`` holds credentials: only those who may see secrets get it."""
    system: dict[str, Any] = (
        {"VCAP_SERVICES": vcap_services} if with_secrets else {"redacted_message": "[PRIVATE DATA HIDDEN]"}
    )
    return {
        "environment_variables": dict(app.environment_variables or {}),
        "staging_env_json": staging_group,
        "running_env_json": running_group,
        "system_env_json": system,
        "application_env_json": {"VCAP_APPLICATION": vcap_application(placement, cf_api)},
    }


def present_env_vars(app: App, urls: Urls) -> dict[str, Any]:
    return {
        "var": dict(app.environment_variables or {}),
        "links": {
            "self": link(urls.v3("apps", app.guid, "environment_variables")),
            "app": link(urls.v3("apps", app.guid)),
        },
    }


def present_permissions(*, read_sensitive_data: bool) -> dict[str, Any]:
    return {"read_basic_data": True, "read_sensitive_data": read_sensitive_data}
