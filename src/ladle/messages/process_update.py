"""``PATCH /v3/processes/:guid`` (and ``/v3/apps/:guid/processes/:type``).

Only what the request names changes: each field is "requested" when its key is present, even
with a null value (a null command resets to the droplet's detected command).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.numericality import MAX_DB_INT, integer

__all__ = [
    "HEALTH_CHECK_TYPES",
    "PROCESS_UPDATE_FIELDS",
    "HealthCheckUpdate",
    "ProcessUpdate",
    "is_uri_path",
    "parse_process_update",
]

HEALTH_CHECK_TYPES = ("port", "process", "http")
# The data keys of a readiness check; a liveness check also has the startup ``timeout``.
READINESS_DATA = ("invocation_timeout", "interval", "endpoint")
MAX_COMMAND = 4096
MAX_USER = 255
MAX_ENDPOINT = 255
PROCESS_UPDATE_FIELDS: Fields = {
    "command": "string",
    "user": "string",
    "health_check": "object",
    "readiness_health_check": "object",
    "metadata": "object",
}
_URI_PATH = re.compile(r"\A(?:/|/([^\s/]\S*)?)\Z")


def is_uri_path(value: Any) -> bool:
    return isinstance(value, str) and bool(_URI_PATH.match(value))


@dataclass(frozen=True)
class HealthCheckUpdate:
    """The requested parts of ``health_check`` or ``readiness_health_check``; absent keys are not
    in ``requested``."""

    requested: frozenset[str] = frozenset()
    type: str | None = None
    timeout: int | None = None
    invocation_timeout: int | None = None
    interval: int | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class ProcessUpdate:
    requested: frozenset[str]
    command: str | None
    user: str | None
    health_check: HealthCheckUpdate
    readiness_health_check: HealthCheckUpdate
    metadata: MetadataUpdate | None
    # What the request asked for, for the audit event (CC's ``audit_hash``).
    audit_request: dict[str, Any] = field(default_factory=dict)


def _string(errors: Errors, attribute: str, value: Any, maximum: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errors.add(attribute, "must be a string")
    elif not 1 <= len(value) <= maximum:
        errors.add(attribute, f"must be between 1 and {maximum} characters")


def _health_check(body: dict[str, Any], key: str, errors: Errors, data_keys: tuple[str, ...]) -> HealthCheckUpdate:
    block = body.get(key)
    if not isinstance(block, dict):
        return HealthCheckUpdate()
    data = block.get("data")
    data = data if isinstance(data, dict) else {}
    requested = {k for k in data_keys if k in data} | ({"type"} if "type" in block else set())
    prefix = "health_check" if key == "health_check" else "readiness_health_check"
    type_ = block.get("type")
    if "type" in block and type_ not in HEALTH_CHECK_TYPES:
        errors.add(f"{prefix}_type", 'must be "port", "process", or "http"')
    numbers = {
        name: integer(errors, f"{prefix}_{name}", data.get(name), at_least=1, at_most=MAX_DB_INT)
        for name in data_keys
        if name != "endpoint"
    }
    endpoint = data.get("endpoint")
    if endpoint is not None:
        if isinstance(endpoint, str) and len(endpoint) > MAX_ENDPOINT:
            errors.add(f"{prefix}_endpoint", f"is too long (maximum is {MAX_ENDPOINT} characters)")
        if not is_uri_path(endpoint):
            errors.add(f"{prefix}_endpoint", "must be a valid URI path")
    return HealthCheckUpdate(
        requested=frozenset(requested),
        type=type_ if isinstance(type_, str) else None,
        timeout=numbers.get("timeout"),
        invocation_timeout=numbers.get("invocation_timeout"),
        interval=numbers.get("interval"),
        endpoint=endpoint if isinstance(endpoint, str) else None,
    )


def parse_process_update(body: dict[str, Any]) -> ProcessUpdate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, PROCESS_UPDATE_FIELDS))
    _string(errors, "command", body.get("command"), MAX_COMMAND)
    _string(errors, "user", body.get("user"), MAX_USER)
    health_check = _health_check(body, "health_check", errors, ("timeout", *READINESS_DATA))
    readiness = _health_check(body, "readiness_health_check", errors, READINESS_DATA)
    errors.raise_if_any()
    command = body.get("command")
    user = body.get("user")
    audit = {k: v for k, v in body.items() if k in PROCESS_UPDATE_FIELDS}
    return ProcessUpdate(
        requested=frozenset(k for k in ("command", "user") if k in body),
        command=command if isinstance(command, str) else None,
        user=user if isinstance(user, str) else None,
        health_check=health_check,
        readiness_health_check=readiness,
        metadata=metadata,
        audit_request=audit,
    )
