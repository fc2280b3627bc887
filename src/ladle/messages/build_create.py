"""``POST /v3/builds``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, is_int, unknown_fields
from ladle.messages.lifecycle import LifecycleRequest, parse_lifecycle
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["BuildCreate", "parse_build_create"]

MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class BuildCreate:
    package_guid: str
    lifecycle: LifecycleRequest | None
    staging_memory_in_mb: int | None
    staging_disk_in_mb: int | None
    staging_log_rate_limit: int | None
    environment_variables: dict[str, Any]
    metadata: MetadataUpdate | None


def _positive(body: dict[str, Any], key: str, errors: Errors) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(key, "is not a number")
    elif not is_int(value):
        errors.add(key, "must be an integer")
    elif value <= 0:
        errors.add(key, "must be greater than 0")
    return value if is_int(value) and value > 0 else None


def parse_build_create(body: dict[str, Any]) -> BuildCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    disk = _positive(body, "staging_disk_in_mb", errors)
    memory = _positive(body, "staging_memory_in_mb", errors)
    rate_key = "staging_log_rate_limit_bytes_per_second"
    rate = body.get(rate_key)
    if rate is not None:
        if not is_int(rate):
            errors.add(rate_key, "must be an integer")
        elif rate < -1:
            errors.add(rate_key, "must be greater than or equal to -1")
        elif rate > MAX_BIGINT:
            errors.add(rate_key, f"must be less than or equal to {MAX_BIGINT}")
    allowed = (
        "staging_memory_in_mb",
        "staging_disk_in_mb",
        rate_key,
        "environment_variables",
        "lifecycle",
        "package",
        "metadata",
    )
    errors.base(unknown_fields(body, allowed))
    lifecycle = parse_lifecycle(body, errors, "buildpack")
    package = body.get("package")
    guid = package.get("guid") if isinstance(package, dict) else None
    if guid is None or guid == "":
        errors.add("package_guid", "can't be blank")
    if not isinstance(guid, str):
        errors.add("package_guid", "must be a string")
    if not isinstance(guid, str) or not 1 <= len(guid) <= 200:
        errors.add("package_guid", "must be between 1 and 200 characters")
    env = body.get("environment_variables")
    errors.raise_if_any()
    assert isinstance(guid, str)
    return BuildCreate(
        package_guid=guid,
        lifecycle=lifecycle,
        staging_memory_in_mb=memory,
        staging_disk_in_mb=disk,
        staging_log_rate_limit=rate if is_int(rate) else None,
        environment_variables=dict(env) if isinstance(env, dict) else {},
        metadata=metadata,
    )
