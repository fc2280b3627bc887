"""The ``VCAP_*`` variables Cloud Foundry gives an app, for the env endpoint and for staging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AppPlacement", "vcap_application"]

FILE_DESCRIPTORS = 16384


@dataclass(frozen=True)
class AppPlacement:
    """An app with the names of where it lives."""

    app_guid: str
    app_name: str
    space_guid: str
    space_name: str
    org_guid: str
    org_name: str


def vcap_application(
    placement: AppPlacement,
    cf_api: str,
    *,
    memory_mb: int | None = None,
    disk_mb: int | None = None,
    version: str | None = None,
    uris: list[str] | None = None,
) -> dict[str, Any]:
    """``VCAP_APPLICATION``; limits and version only where a process or staging task has them."""
    limits: dict[str, int] = {"fds": FILE_DESCRIPTORS}
    if memory_mb is not None:
        limits = {"fds": FILE_DESCRIPTORS, "mem": memory_mb, "disk": disk_mb or 0}
    routes = list(uris or [])
    out: dict[str, Any] = {
        "cf_api": cf_api,
        "limits": limits,
        "application_name": placement.app_name,
        "application_uris": routes,
        "name": placement.app_name,
        "space_name": placement.space_name,
        "space_id": placement.space_guid,
        "organization_id": placement.org_guid,
        "organization_name": placement.org_name,
        "uris": list(routes),
        "users": None,
        "application_id": placement.app_guid,
    }
    if version is not None:
        out["version"] = version
        out["application_version"] = version
    return out
