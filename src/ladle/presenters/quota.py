"""Organization and space quota JSON, in Cloud Controller's key order (None is unlimited)."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import OrganizationQuota, QuotaLimits, SpaceQuota
from ladle.urls import Urls, link

__all__ = ["present_organization_quota", "present_quota_relationship", "present_space_quota"]


def _limits(quota: QuotaLimits) -> dict[str, Any]:
    return {
        "apps": {
            "total_memory_in_mb": quota.total_memory_in_mb,
            "per_process_memory_in_mb": quota.per_process_memory_in_mb,
            "total_instances": quota.total_instances,
            "per_app_tasks": quota.per_app_tasks,
            "log_rate_limit_in_bytes_per_second": quota.log_rate_limit_in_bytes_per_second,
        },
        "services": {
            "paid_services_allowed": quota.paid_services_allowed,
            "total_service_instances": quota.total_service_instances,
            "total_service_keys": quota.total_service_keys,
        },
        "routes": {
            "total_routes": quota.total_routes,
            "total_reserved_ports": quota.total_reserved_ports,
        },
    }


def present_organization_quota(quota: OrganizationQuota, org_guids: list[str], urls: Urls) -> dict[str, Any]:
    return {
        "guid": quota.guid,
        "created_at": format_timestamp(quota.created_at),
        "updated_at": format_timestamp(quota.updated_at),
        "name": quota.name,
        **_limits(quota),
        "domains": {"total_domains": quota.total_domains},
        "relationships": {"organizations": {"data": [{"guid": g} for g in org_guids]}},
        "links": {"self": link(urls.v3("organization_quotas", quota.guid))},
    }


def present_space_quota(quota: SpaceQuota, space_guids: list[str], urls: Urls) -> dict[str, Any]:
    return {
        "guid": quota.guid,
        "created_at": format_timestamp(quota.created_at),
        "updated_at": format_timestamp(quota.updated_at),
        "name": quota.name,
        **_limits(quota),
        "relationships": {
            "organization": {"data": {"guid": quota.organization_guid}},
            "spaces": {"data": [{"guid": g} for g in space_guids]},
        },
        "links": {
            "self": link(urls.v3("space_quotas", quota.guid)),
            "organization": link(urls.v3("organizations", quota.organization_guid)),
        },
    }


def present_quota_relationship(guids: list[str], self_href: str) -> dict[str, Any]:
    return {"data": [{"guid": g} for g in guids], "links": {"self": link(self_href)}}
