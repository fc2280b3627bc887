"""``POST /v3/processes/:guid/actions/scale`` (and the app-nested form)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.numericality import MAX_DB_BIGINT, MAX_DB_INT, integer

__all__ = ["PROCESS_SCALE_FIELDS", "ProcessScale", "parse_process_scale", "scale_errors"]

PROCESS_SCALE_FIELDS: Fields = {
    "instances": "integer",
    "memory_in_mb": "integer",
    "disk_in_mb": "integer",
    "log_rate_limit_in_bytes_per_second": "integer",
}


@dataclass(frozen=True)
class ProcessScale:
    """The values to change; None leaves a value as it is."""

    instances: int | None
    memory_in_mb: int | None
    disk_in_mb: int | None
    log_rate_limit: int | None
    audit_request: dict[str, Any]

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.instances, self.memory_in_mb, self.disk_in_mb, self.log_rate_limit))


def scale_errors(errors: Errors, values: dict[str, Any], instances_attribute: str = "instances") -> ProcessScale:
    """Check the four scale values (deployment options reuse this with ``web_instances``)."""
    return ProcessScale(
        instances=integer(errors, instances_attribute, values.get("instances"), at_least=0, at_most=MAX_DB_INT),
        memory_in_mb=integer(errors, "memory_in_mb", values.get("memory_in_mb"), greater_than=0, at_most=MAX_DB_INT),
        disk_in_mb=integer(errors, "disk_in_mb", values.get("disk_in_mb"), greater_than=0, at_most=MAX_DB_INT),
        log_rate_limit=integer(
            errors,
            "log_rate_limit_in_bytes_per_second",
            values.get("log_rate_limit_in_bytes_per_second"),
            at_least=-1,
            at_most=MAX_DB_BIGINT,
        ),
        audit_request={k: v for k, v in values.items() if k in PROCESS_SCALE_FIELDS},
    )


def parse_process_scale(body: dict[str, Any]) -> ProcessScale:
    errors = Errors()
    errors.base(unknown_fields(body, PROCESS_SCALE_FIELDS))
    scale = scale_errors(errors, body)
    errors.raise_if_any()
    return scale
