"""``POST /v3/organizations`` and ``PATCH /v3/organizations/:guid``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.names import check_name

__all__ = ["ORGANIZATION_FIELDS", "OrganizationChange", "parse_organization_create", "parse_organization_update"]

ORGANIZATION_FIELDS: Fields = {"name": "string", "suspended": "boolean", "metadata": "object"}


@dataclass(frozen=True)
class OrganizationChange:
    name: str | None
    suspended: bool | None
    metadata: MetadataUpdate | None


def _parse(body: dict[str, Any], *, create: bool) -> OrganizationChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, ORGANIZATION_FIELDS))
    name = check_name(body, errors, required=create)
    suspended = body.get("suspended")
    if suspended is not None and not isinstance(suspended, bool):
        errors.add("suspended", "must be a boolean")
    errors.raise_if_any()
    return OrganizationChange(name.strip() if name else name, suspended, metadata)


def parse_organization_create(body: dict[str, Any]) -> OrganizationChange:
    return _parse(body, create=True)


def parse_organization_update(body: dict[str, Any]) -> OrganizationChange:
    return _parse(body, create=False)
