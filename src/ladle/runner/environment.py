"""What an instance or a task finds in its environment, as Cloud Controller, Diego and the
buildpack launcher put it together.

The running environment variable group comes first, the app's variables over it, and the
platform's after them, so ``PORT``, ``CF_INSTANCE_*``, ``VCAP_APPLICATION``, ``VCAP_SERVICES``
and the launcher's ``HOME``/``TMPDIR``/``DEPS_DIR`` cannot be overridden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ladle.db.placement import AppPlacement
from ladle.staging.environment import vcap_application

__all__ = ["HOME", "InstanceAddress", "database_url", "instance_environment", "task_environment"]

HOME = "/home/vcap"
APP_DIR = f"{HOME}/app"
PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class InstanceAddress:
    """Where an instance is reached: the cell's address and its port there, and inside."""

    host_ip: str
    host_port: int | None
    internal_ip: str
    internal_port: int | None


def _strings(env: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in env.items()}


# Rails-style adapters: Cloud Controller renames these schemes in DATABASE_URL.
_DB_SCHEMES = {"mysql": "mysql2", "mysql2": "mysql2", "postgres": "postgres", "postgresql": "postgres"}


def database_url(vcap_services: Mapping[str, Any]) -> str | None:
    """The first bound credential ``uri`` naming a MySQL or PostgreSQL database, as Cloud
    Controller puts it in ``DATABASE_URL`` (instances and tasks only, never staging)."""
    for entries in vcap_services.values():
        for entry in entries:
            uri = (entry.get("credentials") or {}).get("uri")
            if not isinstance(uri, str):
                continue
            try:
                parts = urlsplit(uri)
            except ValueError:
                continue
            if parts.scheme in _DB_SCHEMES:
                return urlunsplit(parts._replace(scheme=_DB_SCHEMES[parts.scheme]))
    return None


def _base(
    group_env: Mapping[str, Any], app_env: Mapping[str, Any], vcap_services: Mapping[str, Any], memory_mb: int
) -> dict[str, Any]:
    env: dict[str, Any] = {"PATH": PATH, "LANG": "en_US.UTF-8"}
    env.update(group_env)
    env.update(app_env)
    env["MEMORY_LIMIT"] = f"{memory_mb}m"
    env["VCAP_SERVICES"] = dict(vcap_services)
    if (url := database_url(vcap_services)) is not None:
        env["DATABASE_URL"] = url
    env["HOME"] = APP_DIR
    env["TMPDIR"] = f"{HOME}/tmp"
    env["DEPS_DIR"] = f"{HOME}/deps"
    env["USER"] = "vcap"
    return env


def instance_environment(
    placement: AppPlacement,
    *,
    cf_api: str,
    group_env: Mapping[str, Any],
    app_env: Mapping[str, Any],
    vcap_services: Mapping[str, Any],
    process_guid: str,
    process_type: str,
    version: str,
    memory_mb: int,
    disk_mb: int,
    uris: list[str],
    index: int,
    instance_guid: str,
    address: InstanceAddress,
) -> dict[str, str]:
    env = _base(group_env, app_env, vcap_services, memory_mb)
    vcap = vcap_application(placement, cf_api, memory_mb=memory_mb, disk_mb=disk_mb, version=version, uris=uris)
    vcap.pop("users", None)
    vcap["process_id"] = process_guid
    vcap["process_type"] = process_type
    # What the launcher adds before the app starts.
    port = address.internal_port
    vcap.update({"host": "0.0.0.0", "instance_id": instance_guid, "port": port, "instance_index": index})
    env["VCAP_APPLICATION"] = vcap
    ports: list[dict[str, int]] = []
    if port is not None:
        ports.append({"external": address.host_port or 0, "internal": port})
        env["PORT"] = str(port)
        env["VCAP_APP_PORT"] = str(port)
        env["VCAP_APP_HOST"] = "0.0.0.0"
    env.update(
        {
            "INSTANCE_GUID": instance_guid,
            "CF_INSTANCE_GUID": instance_guid,
            "INSTANCE_INDEX": str(index),
            "CF_INSTANCE_INDEX": str(index),
            "CF_INSTANCE_IP": address.host_ip,
            "CF_INSTANCE_INTERNAL_IP": address.internal_ip,
            "CF_INSTANCE_PORT": str(address.host_port) if address.host_port else "",
            "CF_INSTANCE_ADDR": f"{address.host_ip}:{address.host_port}" if address.host_port else "",
            "CF_INSTANCE_PORTS": ports,
        }
    )
    return _strings(env)


def task_environment(
    placement: AppPlacement,
    *,
    cf_api: str,
    group_env: Mapping[str, Any],
    app_env: Mapping[str, Any],
    vcap_services: Mapping[str, Any],
    memory_mb: int,
    disk_mb: int,
    uris: list[str],
    task_guid: str,
    address: InstanceAddress,
) -> dict[str, str]:
    """A task gets the app-level ``VCAP_APPLICATION`` (no process) and no ``PORT``."""
    env = _base(group_env, app_env, vcap_services, memory_mb)
    vcap = vcap_application(placement, cf_api, memory_mb=memory_mb, disk_mb=disk_mb, uris=uris)
    vcap.pop("users", None)
    env["VCAP_APPLICATION"] = vcap
    env.update(
        {
            "INSTANCE_GUID": task_guid,
            "CF_INSTANCE_GUID": task_guid,
            "INSTANCE_INDEX": "0",
            "CF_INSTANCE_INDEX": "0",
            "CF_INSTANCE_IP": address.host_ip,
            "CF_INSTANCE_INTERNAL_IP": address.internal_ip,
            "CF_INSTANCE_PORT": "",
            "CF_INSTANCE_ADDR": "",
            "CF_INSTANCE_PORTS": [],
        }
    )
    return _strings(env)
