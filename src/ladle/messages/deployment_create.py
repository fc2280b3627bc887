"""``POST /v3/deployments``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.process_scale import ProcessScale, scale_errors

__all__ = ["DEPLOYMENT_CREATE_FIELDS", "DeploymentCreate", "parse_deployment_create"]

DEPLOYMENT_CREATE_FIELDS: Fields = {
    "relationships": "object",
    "droplet": "object",
    "revision": "object",
    "strategy": "string",
    "options": "object",
    "metadata": "object",
}
OPTION_KEYS = (
    "canary",
    "max_in_flight",
    "web_instances",
    "memory_in_mb",
    "disk_in_mb",
    "log_rate_limit_in_bytes_per_second",
)
# Cloud Controller also has "canary" (pause after the first instances until told to continue);
# Ladle's runner does not pause, so that strategy is refused rather than run as a rolling one.
STRATEGIES = ("rolling",)


@dataclass(frozen=True)
class DeploymentCreate:
    app_guid: str | None
    droplet_guid: str | None
    revision_guid: str | None
    strategy: str
    max_in_flight: int
    scale: ProcessScale
    metadata: MetadataUpdate | None
    # What the request asked for, for the audit event.
    audit_request: dict[str, Any]


def _dig(value: Any, *path: str) -> Any:
    """Cloud Controller's ``HashUtils.dig``: None wherever the path leaves the objects."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _options(options: Any, errors: Errors) -> tuple[int, ProcessScale]:
    if options in (None, {}, [], ""):
        return 1, scale_errors(Errors(), {})
    if not isinstance(options, dict):
        errors.add("options", "must be an object")
        return 1, scale_errors(Errors(), {})
    unsupported = [k for k in options if k not in OPTION_KEYS]
    if unsupported:
        errors.add("options", f"has unsupported key(s): {', '.join(unsupported)}")
    values = {
        "instances": options.get("web_instances"),
        "memory_in_mb": options.get("memory_in_mb"),
        "disk_in_mb": options.get("disk_in_mb"),
        "log_rate_limit_in_bytes_per_second": options.get("log_rate_limit_in_bytes_per_second"),
    }
    scale = scale_errors(errors, values, instances_attribute="web_instances")
    max_in_flight = options.get("max_in_flight")
    given = max_in_flight is not None and max_in_flight is not False
    if given and (type(max_in_flight) is not int or max_in_flight < 1):
        errors.add("max_in_flight", "must be an integer greater than 0")
    canary = options.get("canary")
    if canary is not None and canary is not False:
        errors.add(
            "options.canary",
            "must be an object" if not isinstance(canary, dict) else "are only valid for Canary deployments",
        )
    return (max_in_flight if type(max_in_flight) is int and max_in_flight > 0 else 1), scale


def parse_deployment_create(body: dict[str, Any]) -> DeploymentCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, DEPLOYMENT_CREATE_FIELDS))
    strategy = body.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        errors.add("strategy", f"'{strategy}' is not a supported deployment strategy")
    if body.get("revision") and body.get("droplet"):
        errors.add("droplet", "Cannot set both fields 'droplet' and 'revision'")
    max_in_flight, scale = _options(body.get("options"), errors)
    errors.raise_if_any()
    app_guid, droplet_guid = _dig(body, "relationships", "app", "data", "guid"), _dig(body, "droplet", "guid")
    revision_guid = _dig(body, "revision", "guid")
    return DeploymentCreate(
        app_guid=app_guid if isinstance(app_guid, str) else None,
        droplet_guid=droplet_guid if isinstance(droplet_guid, str) else None,
        revision_guid=revision_guid if isinstance(revision_guid, str) else None,
        strategy=strategy or "rolling",
        max_in_flight=max_in_flight,
        scale=scale,
        metadata=metadata,
        audit_request={k: v for k, v in body.items() if k in DEPLOYMENT_CREATE_FIELDS},
    )
