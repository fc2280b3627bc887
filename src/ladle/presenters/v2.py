"""The few ``/v2`` documents the v7 CLI's service commands read, made from v3 rows.

A v2 resource is ``{"metadata": {guid, url, created_at, updated_at}, "entity": {...}}`` and a
list is ``{total_results, total_pages, prev_url, next_url, resources}``; v2 times are RFC 3339.
"""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import App, Process, ServiceBinding, ServiceInstance
from ladle.presenters.service_instance import present_last_operation

__all__ = [
    "V2_API_VERSION",
    "present_v2_app",
    "present_v2_binding",
    "present_v2_info",
    "present_v2_list",
    "present_v2_space_summary",
    "present_v2_ups",
]

# A v2 API version late enough for every check of the v7 CLI (it needs a semver >= 2.128.0).
V2_API_VERSION = "2.275.0"


def _metadata(guid: str, url: str, row: App | ServiceInstance | ServiceBinding) -> dict[str, Any]:
    return {
        "guid": guid,
        "url": url,
        "created_at": format_timestamp(row.created_at),
        "updated_at": format_timestamp(row.updated_at),
    }


def present_v2_list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """One page holding everything (the look-ups it serves match one row or none)."""
    return {
        "total_results": len(resources),
        "total_pages": 1,
        "prev_url": None,
        "next_url": None,
        "resources": resources,
    }


def present_v2_info(*, name: str, build: str, description: str, token_url: str) -> dict[str, Any]:
    return {
        "name": name,
        "build": build,
        "support": "",
        "version": 0,
        "description": description,
        "authorization_endpoint": token_url,
        "token_endpoint": token_url,
        "min_cli_version": None,
        "min_recommended_cli_version": None,
        "app_ssh_endpoint": None,
        "app_ssh_host_key_fingerprint": None,
        "app_ssh_oauth_client": None,
        "doppler_logging_endpoint": None,
        "api_version": V2_API_VERSION,
        "osbapi_version": "2.15",
        "bits_endpoint": None,
        "routing_endpoint": None,
    }


def present_v2_app(app: App, web: Process | None) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "name": app.name,
        "space_guid": app.space_guid,
        "state": app.state,
        "instances": web.instances if web else 0,
        "memory": web.memory_in_mb if web else None,
        "disk_quota": web.disk_in_mb if web else None,
        "health_check_type": web.health_check_type if web else "port",
        "diego": True,
        "space_url": f"/v2/spaces/{app.space_guid}",
        "service_bindings_url": f"/v2/apps/{app.guid}/service_bindings",
    }
    return {"metadata": _metadata(app.guid, f"/v2/apps/{app.guid}", app), "entity": entity}


def _last_operation(instance: ServiceInstance) -> dict[str, Any]:
    op = present_last_operation(instance)
    return {**op, "description": ""}


def present_v2_ups(instance: ServiceInstance, *, with_credentials: bool) -> dict[str, Any]:
    g = instance.guid
    entity: dict[str, Any] = {
        "name": instance.name,
        "credentials": (instance.credentials or {}) if with_credentials else {},
        "space_guid": instance.space_guid,
        "type": "user_provided_service_instance",
        "syslog_drain_url": instance.syslog_drain_url or "",
        "route_service_url": instance.route_service_url or "",
        "tags": list(instance.tags or []),
        "last_operation": _last_operation(instance),
        "space_url": f"/v2/spaces/{instance.space_guid}",
        "service_bindings_url": f"/v2/user_provided_service_instances/{g}/service_bindings",
        "routes_url": f"/v2/user_provided_service_instances/{g}/routes",
        "service_keys_url": f"/v2/user_provided_service_instances/{g}/service_keys",
    }
    return {"metadata": _metadata(g, f"/v2/user_provided_service_instances/{g}", instance), "entity": entity}


def present_v2_binding(binding: ServiceBinding) -> dict[str, Any]:
    """A binding as ``POST /v2/service_bindings`` answers (credentials left out: the CLI reads none)."""
    g = binding.guid
    created = format_timestamp(binding.created_at)
    entity: dict[str, Any] = {
        "app_guid": binding.app_guid,
        "service_instance_guid": binding.service_instance_guid,
        "name": binding.name,
        "syslog_drain_url": binding.syslog_drain_url,
        "volume_mounts": [],
        "last_operation": {
            "type": "create",
            "state": "succeeded",
            "description": "",
            "updated_at": created,
            "created_at": created,
        },
        "app_url": f"/v2/apps/{binding.app_guid}",
        "service_instance_url": f"/v2/user_provided_service_instances/{binding.service_instance_guid}",
    }
    return {"metadata": _metadata(g, f"/v2/service_bindings/{g}", binding), "entity": entity}


def present_v2_space_summary(
    space_guid: str,
    space_name: str,
    apps: list[App],
    instances: list[ServiceInstance],
    bindings: list[ServiceBinding],
) -> dict[str, Any]:
    names = {i.guid: i.name for i in instances}
    by_app: dict[str, list[str]] = {}
    bound_count: dict[str, int] = {}
    for b in bindings:
        by_app.setdefault(b.app_guid, []).append(names.get(b.service_instance_guid, ""))
        bound_count[b.service_instance_guid] = bound_count.get(b.service_instance_guid, 0) + 1
    return {
        "guid": space_guid,
        "name": space_name,
        "apps": [
            {
                "guid": a.guid,
                "name": a.name,
                "state": a.state,
                "service_count": len(by_app.get(a.guid, [])),
                "service_names": by_app.get(a.guid, []),
            }
            for a in apps
        ],
        # User-provided instances have no ``service_plan``: that is how the CLI tells them apart.
        "services": [
            {
                "guid": i.guid,
                "name": i.name,
                "bound_app_count": bound_count.get(i.guid, 0),
                "last_operation": _last_operation(i),
                "dashboard_url": None,
                "shared_from": None,
                "shared_to": [],
            }
            for i in instances
        ],
    }
