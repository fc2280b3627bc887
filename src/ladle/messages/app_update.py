"""``PATCH /v3/apps/:guid``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.lifecycle import LifecycleRequest, parse_lifecycle
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["APP_UPDATE_FIELDS", "AppUpdate", "parse_app_update"]

APP_UPDATE_FIELDS: Fields = {"name": "string", "lifecycle": "object", "metadata": "object"}

MAX_NAME = 255


@dataclass(frozen=True)
class AppUpdate:
    name: str | None
    lifecycle: LifecycleRequest | None
    metadata: MetadataUpdate | None


def parse_app_update(body: dict[str, Any]) -> AppUpdate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, APP_UPDATE_FIELDS))
    # Like CC, the message checks lifecycle data as the default (buildpack) type when none is
    # named; the app's own type is applied when the update runs.
    lifecycle = parse_lifecycle(body, errors, "buildpack")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        errors.add("name", "must be a string")
    elif isinstance(name, str) and len(name) > MAX_NAME:
        errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
    errors.raise_if_any()
    return AppUpdate(name=name, lifecycle=lifecycle, metadata=metadata)
