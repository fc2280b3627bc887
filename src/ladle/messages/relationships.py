"""The ``relationships`` block of create requests (to-one relationships)."""

from __future__ import annotations

from typing import Any

from ladle.messages.base import Errors, unknown_fields

__all__ = ["parse_to_one", "to_one_guid"]

MAX_GUID = 200


def to_one_guid(value: Any, name: str, errors: Errors) -> str | None:
    """Check one ``{"data": {"guid": ...}}`` value; errors are worded for attribute ``name``."""
    well_formed = (
        isinstance(value, dict)
        and set(value) == {"data"}
        and (value["data"] is None or (isinstance(value["data"], dict) and set(value["data"]) == {"guid"}))
    )
    if not well_formed:
        errors.add(name, f'must be structured like this: "{name}: {{"data": {{"guid": "valid-guid"}}}}"')
        return None
    data = value["data"]
    if data is None:
        return None
    guid = data["guid"]
    if not isinstance(guid, str):
        errors.add(f"{name}_guid", "must be a string")
    if not isinstance(guid, str) or not 1 <= len(guid) <= MAX_GUID:
        errors.add(f"{name}_guid", f"must be between 1 and {MAX_GUID} characters")
    return guid if isinstance(guid, str) else None


def parse_to_one(
    body: dict[str, Any], errors: Errors, names: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, str | None]:
    """Validate ``body["relationships"]``; returns the guid given for each relationship present."""
    relationships = body.get("relationships")
    if not isinstance(relationships, dict):
        errors.add("relationships", "'relationships' is not an object")
        return {}
    if not relationships:
        errors.add("relationships", "'relationships' must include one or more valid relationships")
        return {}
    nested = Errors()
    nested.base(unknown_fields(relationships, names))
    guids: dict[str, str | None] = {}
    for name in names:
        value = relationships.get(name)
        if value is None and name not in required:
            continue
        if value is None:
            nested.add(name, "can't be blank")
        guids[name] = to_one_guid(value, name, nested)
    errors.nested("Relationships", nested.messages)
    return guids
