"""``POST /v3/stacks`` and ``PATCH /v3/stacks/:guid``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["StackChange", "parse_stack_create", "parse_stack_update"]

MAX = 250


@dataclass(frozen=True)
class StackChange:
    name: str | None
    description: str | None
    metadata: MetadataUpdate | None


def parse_stack_create(body: dict[str, Any]) -> StackChange:
    # Like Cloud Controller, create ignores keys it does not know.
    errors = Errors()
    metadata = parse_metadata(body, errors)
    name, description = body.get("name"), body.get("description")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "can't be blank")
    elif len(name) > MAX:
        errors.add("name", f"is too long (maximum is {MAX} characters)")
    if description is not None and (not isinstance(description, str) or len(description) > MAX):
        errors.add("description", f"is too long (maximum is {MAX} characters)")
    errors.raise_if_any()
    assert isinstance(name, str)
    return StackChange(name.strip(), description, metadata)


def parse_stack_update(body: dict[str, Any]) -> StackChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, ("metadata",)))
    errors.raise_if_any()
    return StackChange(None, None, metadata)
