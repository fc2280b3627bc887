"""``PATCH /v3/builds/:guid``: metadata, or a final state from an external builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["BUILD_UPDATE_FIELDS", "BuildUpdate", "parse_build_update"]

BUILD_UPDATE_FIELDS: Fields = {"state": "string", "error": "string", "lifecycle": "object", "metadata": "object"}


@dataclass(frozen=True)
class BuildUpdate:
    state: str | None
    error: str | None
    image: str | None
    process_types: dict[str, str] | None
    metadata: MetadataUpdate | None


def parse_build_update(body: dict[str, Any]) -> BuildUpdate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, BUILD_UPDATE_FIELDS))
    state = body.get("state")
    image = None
    process_types = None
    if "state" in body:
        if state not in ("FAILED", "STAGED"):
            errors.base(f"State '{state}' is not a valid state")
        lifecycle = body.get("lifecycle")
        data = lifecycle.get("data") if isinstance(lifecycle, dict) else None
        if state == "STAGED":
            if not isinstance(data, dict):
                errors.base("Lifecycle 'STAGED' builds require lifecycle data")
            else:
                image = data.get("image")
                raw_types = data.get("processTypes") or data.get("process_types") or {}
                process_types = {str(k): str(v) for k, v in raw_types.items()} if isinstance(raw_types, dict) else {}
    error = body.get("error")
    if error is not None and not isinstance(error, str):
        errors.add("error", "must be a string")
    errors.raise_if_any()
    return BuildUpdate(state, error, image if isinstance(image, str) else None, process_types, metadata)
