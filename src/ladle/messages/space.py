"""``POST /v3/spaces`` and ``PATCH /v3/spaces/:guid``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.names import check_name
from ladle.messages.relationships import parse_to_one

__all__ = ["SPACE_CREATE_FIELDS", "SPACE_UPDATE_FIELDS", "SpaceChange", "parse_space_create", "parse_space_update"]

SPACE_CREATE_FIELDS: Fields = {"name": "string", "relationships": "object", "metadata": "object"}
SPACE_UPDATE_FIELDS: Fields = {"name": "string", "metadata": "object"}


@dataclass(frozen=True)
class SpaceChange:
    name: str | None
    organization_guid: str | None
    metadata: MetadataUpdate | None


def parse_space_create(body: dict[str, Any]) -> SpaceChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, SPACE_CREATE_FIELDS))
    relationships = parse_to_one(body, errors, ("organization",), required=("organization",))
    name = check_name(body, errors, required=True)
    errors.raise_if_any()
    return SpaceChange(name.strip() if name else name, relationships.get("organization"), metadata)


def parse_space_update(body: dict[str, Any]) -> SpaceChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, SPACE_UPDATE_FIELDS))
    name = check_name(body, errors, required=False)
    errors.raise_if_any()
    return SpaceChange(name.strip() if name else name, None, metadata)
