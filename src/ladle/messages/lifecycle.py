"""The ``lifecycle`` block of app and build requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, unknown_fields

__all__ = ["LIFECYCLE_TYPES", "LifecycleRequest", "parse_lifecycle"]

LIFECYCLE_TYPES = ("buildpack", "docker", "cnb")
MAX_ENTRY = 4096


@dataclass(frozen=True)
class LifecycleRequest:
    type: str | None  # None: not given, the caller decides the default
    # Only the keys the request gave: "buildpacks" and "stack" may each be absent.
    data: dict[str, Any]

    def resolved_type(self, default: str) -> str:
        return self.type or default


def _buildpack_data_errors(data: dict[str, Any]) -> list[str]:
    errors = Errors()
    errors.base(unknown_fields(data, ("buildpacks", "stack", "credentials")))
    buildpacks = data.get("buildpacks")
    if buildpacks is not None:
        if not isinstance(buildpacks, list):
            errors.add("buildpacks", "must be an array")
        elif not all(isinstance(b, str) for b in buildpacks):
            errors.add("buildpacks", "can only contain strings")
        elif not all(1 <= len(b) <= MAX_ENTRY for b in buildpacks):
            errors.add("buildpacks", f"entries must be between 1 and {MAX_ENTRY} characters")
    stack = data.get("stack")
    if stack is not None:
        if not isinstance(stack, str):
            errors.add("stack", "must be a string")
        elif not 1 <= len(stack) <= MAX_ENTRY:
            errors.add("stack", f"must be between 1 and {MAX_ENTRY} characters")
    credentials = data.get("credentials")
    if credentials is not None:
        if not isinstance(credentials, dict):
            errors.add("credentials", "must be an object")
        elif not all(isinstance(v, dict) for v in credentials.values()):
            errors.add("credentials", "credentials value must be a hash")
    return errors.messages


def parse_lifecycle(body: dict[str, Any], errors: Errors, default_type: str) -> LifecycleRequest | None:
    """Validate ``body["lifecycle"]`` if given; its problems are reported with a ``Lifecycle`` prefix."""
    if "lifecycle" not in body:
        return None
    lifecycle = body["lifecycle"]
    if not isinstance(lifecycle, dict):
        errors.add("lifecycle", "must be an object")
        return None
    lifecycle_type = lifecycle.get("type")
    data = lifecycle.get("data")
    extra = unknown_fields(lifecycle, ("type", "data"))
    if extra:
        errors.nested("Lifecycle", [extra])
    if not isinstance(data, dict):
        errors.add("lifecycle_data", "must be an object")
    if lifecycle_type is not None and not isinstance(lifecycle_type, str):
        errors.add("lifecycle_type", "must be a string")
        return None
    effective = lifecycle_type or default_type
    if effective not in LIFECYCLE_TYPES:
        errors.add("lifecycle_type", f"is not included in the list: {', '.join(LIFECYCLE_TYPES)}")
        return None
    if not isinstance(data, dict):
        return None
    if effective == "docker":
        errors.nested("Lifecycle", [m for m in [unknown_fields(data, ())] if m])
    else:
        errors.nested("Lifecycle", _buildpack_data_errors(data))
    return LifecycleRequest(lifecycle_type, dict(data))
