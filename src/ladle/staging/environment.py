"""The ``VCAP_*`` variables Cloud Foundry gives an app, for the env endpoint and for staging."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ladle.db.placement import AppPlacement

__all__ = ["as_process_env", "staging_environment", "vcap_application"]

FILE_DESCRIPTORS = 16384


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


def staging_environment(
    placement: AppPlacement,
    *,
    cf_api: str,
    group_env: Mapping[str, Any],
    app_env: Mapping[str, Any],
    build_env: Mapping[str, Any],
    vcap_services: Mapping[str, Any],
    stack: str | None,
    memory_mb: int,
    disk_mb: int,
    build_guid: str,
) -> dict[str, Any]:
    """The variables a staging task gets, in Cloud Foundry's order (later entries win).

    Values are as CF stores them (``VCAP_APPLICATION`` an object); :func:`as_process_env`
    turns them into the strings a process sees.
    """
    env: dict[str, Any] = {}
    env.update(group_env)
    env.update(app_env)
    env.update(build_env)
    if stack is not None:
        env["CF_STACK"] = stack
    env["VCAP_APPLICATION"] = vcap_application(
        placement, cf_api, memory_mb=memory_mb, disk_mb=disk_mb, version=build_guid
    )
    env["MEMORY_LIMIT"] = f"{memory_mb}m"
    env["VCAP_SERVICES"] = dict(vcap_services)
    return env


def as_process_env(env: Mapping[str, Any], build_guid: str) -> dict[str, str]:
    """What a buildpack script sees: strings only, plus what the container itself provides."""
    out = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TMPDIR": "/tmp",
        "CF_INSTANCE_ADDR": "",
        "CF_INSTANCE_INTERNAL_IP": "127.0.0.1",
        "CF_INSTANCE_IP": "127.0.0.1",
        "CF_INSTANCE_PORT": "",
        "CF_INSTANCE_PORTS": "[]",
        "CF_INSTANCE_GUID": build_guid,
        "CF_INSTANCE_INDEX": "0",
    }
    for key, value in env.items():
        out[key] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return out
