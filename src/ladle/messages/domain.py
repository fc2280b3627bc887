"""``POST /v3/domains``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = ["DOMAIN_CREATE_FIELDS", "DomainChange", "parse_domain_create"]

DOMAIN_CREATE_FIELDS: Fields = {
    "name": "string",
    "internal": "boolean",
    "relationships": "object",
    "router_group": "object",
    "metadata": "object",
}

MAX_NAME = 253
_LABEL = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z", re.IGNORECASE)


@dataclass(frozen=True)
class DomainChange:
    name: str
    internal: bool
    organization_guid: str | None
    metadata: MetadataUpdate | None


def parse_domain_create(body: dict[str, Any]) -> DomainChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, DOMAIN_CREATE_FIELDS))
    name = body.get("name")
    if not isinstance(name, str) or not name:
        errors.add("name", "can't be blank" if name in (None, "") else "must be a string")
        name = ""
    else:
        if len(name) > MAX_NAME:
            errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
        if "." not in name or not all(_LABEL.match(label) for label in name.split(".")):
            errors.add("name", "does not comply with RFC 1035 standards")
    internal = body.get("internal", False)
    if not isinstance(internal, bool):
        errors.add("internal", "must be a boolean")
    if body.get("router_group") is not None:
        errors.base("Router group is not supported: Ladle routes HTTP only")
    organization_guid = None
    if "relationships" in body:
        organization_guid = parse_to_one(body, errors, ("organization",), required=("organization",)).get(
            "organization"
        )
    errors.raise_if_any()
    return DomainChange(name.lower(), bool(internal), organization_guid, metadata)
