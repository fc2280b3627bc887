"""``POST /v3/apps/:guid/tasks``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.numericality import MAX_DB_BIGINT, integer
from ladle.messages.relationships import MAX_GUID

__all__ = ["TASK_CREATE_FIELDS", "TaskCreate", "parse_task_create"]

TASK_CREATE_FIELDS: Fields = {
    "name": "string",
    "command": "string",
    "disk_in_mb": "integer",
    "memory_in_mb": "integer",
    "log_rate_limit_in_bytes_per_second": "integer",
    "droplet_guid": "string",
    "template": "object",
    "user": "string",
    "metadata": "object",
}
MAX_USER = 255


@dataclass(frozen=True)
class TaskCreate:
    # Keys present in the request (a value may still be None, e.g. a null name).
    requested: frozenset[str]
    name: Any
    command: Any
    memory_in_mb: int | None
    disk_in_mb: int | None
    log_rate_limit: int | None
    droplet_guid: str | None
    template_process_guid: str | None
    user: str | None
    metadata: MetadataUpdate | None


def _missing(value: Any) -> bool:
    return value is None or value is False


def _guid(errors: Errors, attribute: str, value: Any) -> None:
    if not isinstance(value, str):
        errors.add(attribute, "must be a string")
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_GUID:
        errors.add(attribute, f"must be between 1 and {MAX_GUID} characters")


def parse_task_create(body: dict[str, Any]) -> TaskCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, TASK_CREATE_FIELDS))
    disk = integer(errors, "disk_in_mb", body.get("disk_in_mb"), greater_than=0)
    memory = integer(errors, "memory_in_mb", body.get("memory_in_mb"), greater_than=0)
    rate = integer(
        errors,
        "log_rate_limit_in_bytes_per_second",
        body.get("log_rate_limit_in_bytes_per_second"),
        greater_than=-2,
        at_most=MAX_DB_BIGINT,
    )
    droplet_guid = body.get("droplet_guid")
    if droplet_guid is not None:
        _guid(errors, "droplet_guid", droplet_guid)
    template = body.get("template")
    template_guid: Any = None
    if "template" in body:
        process = template.get("process") if isinstance(template, dict) else None
        template_guid = process.get("guid") if isinstance(process, dict) else None
        _guid(errors, "template_process_guid", template_guid)
    # Ruby truthiness: only null and false count as missing ("" is a command, checked later).
    if _missing(body.get("command")) and _missing(template):
        errors.add("command", "No command or template provided")
    user = body.get("user")
    if user is not None:
        if not isinstance(user, str):
            errors.add("user", "must be a string")
        elif not 1 <= len(user) <= MAX_USER:
            errors.add("user", f"must be between 1 and {MAX_USER} characters")
    errors.raise_if_any()
    return TaskCreate(
        requested=frozenset(k for k in TASK_CREATE_FIELDS if k in body),
        name=body.get("name"),
        command=body.get("command"),
        memory_in_mb=memory,
        disk_in_mb=disk,
        log_rate_limit=rate,
        droplet_guid=droplet_guid if isinstance(droplet_guid, str) else None,
        template_process_guid=template_guid if isinstance(template_guid, str) else None,
        user=user if isinstance(user, str) else None,
        metadata=metadata,
    )
