"""``/v3/organization_quotas`` and ``/v3/space_quotas`` bodies: limits grouped as Cloud Controller
groups them (``apps``, ``services``, ``routes``, ``domains``), each group a message of its own
whose errors are prefixed with the group's name (``Apps Total instances must be an integer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ladle.messages.base import Errors, unknown_fields
from ladle.messages.names import check_name
from ladle.messages.numericality import MAX_DB_BIGINT, MAX_DB_INT, integer

__all__ = [
    "LIMIT_GROUPS",
    "QuotaChange",
    "parse_guid_list",
    "parse_organization_quota",
    "parse_space_quota",
]

LIMIT_GROUPS: dict[str, tuple[str, ...]] = {
    "apps": (
        "total_memory_in_mb",
        "per_process_memory_in_mb",
        "total_instances",
        "per_app_tasks",
        "log_rate_limit_in_bytes_per_second",
    ),
    "services": ("paid_services_allowed", "total_service_instances", "total_service_keys"),
    "routes": ("total_routes", "total_reserved_ports"),
    "domains": ("total_domains",),
}
MAX_NAME_LENGTH = 250


@dataclass(frozen=True)
class QuotaChange:
    name: str | None
    # Only the limits the request named (None: unlimited).
    limits: dict[str, int | bool | None] = field(default_factory=dict)
    organization_guid: str | None = None
    # Organizations (org quota) or spaces (space quota) to apply it to, from ``relationships``.
    applied_to: list[str] = field(default_factory=list)


def _group(body: dict[str, Any], group: str, errors: Errors, limits: dict[str, int | bool | None]) -> None:
    values = body.get(group)
    if values is None:
        return
    if not isinstance(values, dict):
        errors.add(group, "must be an object")
        return
    inner = Errors()
    inner.base(unknown_fields(values, LIMIT_GROUPS[group]))
    for key in LIMIT_GROUPS[group]:
        if key not in values:
            continue
        value = values[key]
        if key == "paid_services_allowed":
            if not isinstance(value, bool):
                inner.add(key, "must be a boolean")
            else:
                limits[key] = value
            continue
        ceiling = MAX_DB_BIGINT if key == "log_rate_limit_in_bytes_per_second" else MAX_DB_INT
        # JSON numbers only: a string would be stored as given, and Cloud Controller refuses it.
        if isinstance(value, str):
            inner.add(key, "is not a number")
            continue
        checked = integer(inner, key, value, at_least=0, at_most=ceiling)
        if value is None or checked is not None:
            limits[key] = checked
    errors.nested(group.capitalize(), inner.messages)


def parse_guid_list(value: Any, errors: Errors, name: str) -> list[str]:
    """A to-many relationship's ``{"data": [{"guid": ...}]}``."""
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) and isinstance(d.get("guid"), str) for d in data):
        errors.add(name, "must be an object with a data array of objects with a guid")
        return []
    return [d["guid"] for d in data]


def _common(body: dict[str, Any], errors: Errors, groups: tuple[str, ...], create: bool) -> QuotaChange:
    name = check_name(body, errors, required=create)
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        errors.add("name", f"is too long (maximum is {MAX_NAME_LENGTH} characters)")
    limits: dict[str, int | bool | None] = {}
    for group in groups:
        _group(body, group, errors, limits)
    return QuotaChange(name, limits)


def parse_organization_quota(body: dict[str, Any], *, create: bool) -> QuotaChange:
    errors = Errors()
    groups = ("apps", "services", "routes", "domains")
    errors.base(unknown_fields(body, ("name", *groups, *(("relationships",) if create else ()))))
    change = _common(body, errors, groups, create)
    applied: list[str] = []
    relationships = body.get("relationships")
    if create and relationships is not None:
        if not isinstance(relationships, dict):
            errors.add("relationships", "must be an object")
        elif "organizations" in relationships:
            applied = parse_guid_list(relationships["organizations"], errors, "relationships organizations")
    errors.raise_if_any()
    return QuotaChange(change.name, change.limits, None, applied)


def parse_space_quota(body: dict[str, Any], *, create: bool) -> QuotaChange:
    errors = Errors()
    groups = ("apps", "services", "routes")
    errors.base(unknown_fields(body, ("name", *groups, *(("relationships",) if create else ()))))
    change = _common(body, errors, groups, create)
    org_guid: str | None = None
    applied: list[str] = []
    if create:
        relationships = body.get("relationships")
        org = relationships.get("organization") if isinstance(relationships, dict) else None
        data = org.get("data") if isinstance(org, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("guid"), str):
            errors.add("relationships", "'relationships' must include one or more valid relationships")
        else:
            org_guid = data["guid"]
        if isinstance(relationships, dict) and "spaces" in relationships:
            applied = parse_guid_list(relationships["spaces"], errors, "relationships spaces")
    errors.raise_if_any()
    return QuotaChange(change.name, change.limits, org_guid, applied)
