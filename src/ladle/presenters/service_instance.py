"""Service instance JSON (user-provided), in Cloud Controller's key order."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Organization, ServiceInstance, Space
from ladle.urls import Urls, link

__all__ = ["present_fields_included", "present_last_operation", "present_service_instance"]


def present_last_operation(instance: ServiceInstance) -> dict[str, Any]:
    at = format_timestamp(instance.last_operation_at)
    return {
        "type": instance.last_operation_type,
        "state": "succeeded",
        "description": "Operation succeeded",
        "updated_at": at,
        "created_at": at,
    }


def present_service_instance(instance: ServiceInstance, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    self_href = urls.v3("service_instances", instance.guid)
    return {
        "guid": instance.guid,
        "created_at": format_timestamp(instance.created_at),
        "updated_at": format_timestamp(instance.updated_at),
        "name": instance.name,
        "tags": list(instance.tags or []),
        "last_operation": present_last_operation(instance),
        "type": instance.type,
        "syslog_drain_url": instance.syslog_drain_url,
        "route_service_url": instance.route_service_url,
        "relationships": {"space": {"data": {"guid": instance.space_guid}}},
        "metadata": metadata.to_dict(),
        "links": {
            "self": link(self_href),
            "space": link(urls.v3("spaces", instance.space_guid)),
            "service_credential_bindings": link(
                urls.v3("service_credential_bindings") + f"?service_instance_guids={instance.guid}"
            ),
            "service_route_bindings": link(
                urls.v3("service_route_bindings") + f"?service_instance_guids={instance.guid}"
            ),
            "credentials": link(f"{self_href}/credentials"),
        },
    }


def present_fields_included(
    fields: dict[str, list[str]], spaces: list[Space], orgs: list[Organization]
) -> dict[str, Any] | None:
    """``included`` for ``fields[...]``: the instances' spaces and organizations with the keys
    asked for. User-provided instances have no plan, so plans, offerings and brokers are empty."""
    if not fields:
        return None
    included: dict[str, Any] = {}
    if "space" in fields:
        wanted = fields["space"]
        rows = []
        for space in spaces:
            entry: dict[str, Any] = {}
            if "guid" in wanted:
                entry["guid"] = space.guid
            if "name" in wanted:
                entry["name"] = space.name
            if "relationships.organization" in wanted:
                entry["relationships"] = {"organization": {"data": {"guid": space.organization_guid}}}
            rows.append(entry)
        included["spaces"] = rows
    if "space.organization" in fields:
        wanted = fields["space.organization"]
        included["organizations"] = [{k: getattr(o, k) for k in ("name", "guid") if k in wanted} for o in orgs]
    if "service_plan" in fields:
        included["service_plans"] = []
    if "service_plan.service_offering" in fields:
        included["service_offerings"] = []
    if "service_plan.service_offering.service_broker" in fields:
        included["service_brokers"] = []
    return included
