"""``POST /v3/service_instances`` and ``PATCH /v3/service_instances/:guid`` (user-provided).

Only ``type: user-provided`` can be created: there are no brokers, so a ``managed`` request
names a plan that cannot exist and is refused as Cloud Controller refuses an unknown plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ladle.errors import CFError
from ladle.messages.base import Errors, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = ["ServiceInstanceCreate", "ServiceInstanceUpdate", "parse_instance_create", "parse_instance_update"]

UPS_KEYS = ("type", "relationships", "name", "tags", "credentials", "syslog_drain_url", "route_service_url", "metadata")
UPDATE_KEYS = ("name", "tags", "credentials", "syslog_drain_url", "route_service_url", "metadata")
MAX_NAME = 255


@dataclass
class ServiceInstanceCreate:
    name: str
    space_guid: str
    credentials: dict[str, Any]
    tags: list[str]
    syslog_drain_url: str | None
    route_service_url: str | None
    metadata: MetadataUpdate | None
    # The request as audit events record it (credentials hidden).
    audit_request: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServiceInstanceUpdate:
    # Only the keys the request gave are set; absent keys stay as they are.
    changes: dict[str, Any]
    metadata: MetadataUpdate | None
    audit_request: dict[str, Any] = field(default_factory=dict)


def _is_uri(value: str) -> bool:
    # Cloud Controller's UriValidator: parseable with a scheme (URI::DEFAULT_PARSER.parse + scheme).
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and " " not in value


def _check_values(body: dict[str, Any], errors: Errors) -> None:
    if body.get("name") is not None:  # a missing or null name is each caller's own rule
        name = body["name"]
        if not isinstance(name, str):
            errors.add("name", "must be a string")
        elif not name.strip():
            errors.add("name", "can't be blank")
        elif len(name) > MAX_NAME:
            errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            errors.add("tags", "must be an array")
        elif any(not isinstance(t, str) for t in tags):
            errors.add("tags", "must be a list of strings")
    credentials = body.get("credentials")
    if credentials is not None and not isinstance(credentials, dict):
        errors.add("credentials", "must be an object")
    for key in ("syslog_drain_url", "route_service_url"):
        value = body.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not _is_uri(value):
            errors.add(key, "must be a valid URI")
    route_service_url = body.get("route_service_url")
    if isinstance(route_service_url, str) and route_service_url and not route_service_url.startswith("https:"):
        errors.add("route_service_url", "must be https")


def audit_request(body: dict[str, Any]) -> dict[str, Any]:
    """The request as ``audit.user_provided_service_instance.*`` keeps it: credentials redacted."""
    out = dict(body)
    if "credentials" in out:
        out["credentials"] = "[REDACTED]"
    return out


def parse_instance_create(body: dict[str, Any]) -> ServiceInstanceCreate:
    errors = Errors()
    kind = body.get("type")
    if kind == "managed":
        # No broker is registered, so no plan a managed instance names can exist.
        raise CFError(
            "UnprocessableEntity",
            "Invalid service plan. Ensure that the service plan exists, is available, and you have access to it.",
        )
    errors.base(unknown_fields(body, UPS_KEYS))
    if kind != "user-provided":
        errors.add("type", "must be one of 'managed', 'user-provided'")
    if body.get("name") is None:
        errors.add("name", "can't be blank")
    _check_values(body, errors)
    metadata = parse_metadata(body, errors)
    space_guid = parse_to_one(body, errors, ("space",), required=("space",)).get("space")
    errors.raise_if_any()
    return ServiceInstanceCreate(
        name=str(body["name"]),
        space_guid=space_guid or "",
        credentials=dict(body.get("credentials") or {}),
        tags=list(body.get("tags") or []),
        syslog_drain_url=body.get("syslog_drain_url") or None,
        route_service_url=body.get("route_service_url") or None,
        metadata=metadata,
        audit_request=audit_request(body),
    )


def parse_instance_update(body: dict[str, Any]) -> ServiceInstanceUpdate:
    errors = Errors()
    errors.base(unknown_fields(body, UPDATE_KEYS))
    if "name" in body and body["name"] is None:
        errors.add("name", "can't be blank")
    _check_values(body, errors)
    metadata = parse_metadata(body, errors)
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    for key in ("name", "tags", "credentials", "syslog_drain_url", "route_service_url"):
        if key in body:
            value = body[key]
            if key == "tags":
                value = list(value or [])
            elif key == "credentials":
                value = dict(value or {})
            elif key in ("syslog_drain_url", "route_service_url"):
                value = value or None
            changes[key] = value
    return ServiceInstanceUpdate(changes, metadata, audit_request(body))
