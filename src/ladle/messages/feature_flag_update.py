"""``PATCH /v3/feature_flags/:name``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields

__all__ = ["FEATURE_FLAG_FIELDS", "FeatureFlagUpdate", "parse_feature_flag_update"]

FEATURE_FLAG_FIELDS: Fields = {"custom_error_message": "string", "enabled": "boolean", "metadata": "object"}

MAX_MESSAGE = 250


@dataclass(frozen=True)
class FeatureFlagUpdate:
    enabled: bool | None
    # Whether the body set ``custom_error_message`` (to a text, or to null to clear it).
    changes_message: bool
    custom_error_message: str | None


def parse_feature_flag_update(body: dict[str, Any]) -> FeatureFlagUpdate:
    errors = Errors()
    errors.base(unknown_fields(body, FEATURE_FLAG_FIELDS))
    enabled = body.get("enabled")
    if "enabled" in body and not isinstance(enabled, bool):
        errors.add("enabled", "must be a boolean")
    message = body.get("custom_error_message")
    if message is not None:
        if not isinstance(message, str):
            errors.add("custom_error_message", "must be a string")
        elif len(message) < 1:
            errors.add("custom_error_message", "is too short (minimum is 1 character)")
        elif len(message) > MAX_MESSAGE:
            errors.add("custom_error_message", f"is too long (maximum is {MAX_MESSAGE} characters)")
    errors.raise_if_any()
    return FeatureFlagUpdate(
        enabled if isinstance(enabled, bool) else None,
        "custom_error_message" in body,
        message if isinstance(message, str) else None,
    )
