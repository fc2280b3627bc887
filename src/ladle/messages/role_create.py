"""``POST /v3/roles``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ladle.auth.roles import ORG_ROLE_TYPES, SPACE_ROLE_TYPES
from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.relationships import to_one_guid

__all__ = ["ALL_ROLE_TYPES", "ROLE_CREATE_FIELDS", "RoleCreate", "parse_role_create"]

ROLE_CREATE_FIELDS: Fields = {"type": "string", "relationships": "object"}

# Cloud Controller's order, which its error message prints.
ALL_ROLE_TYPES = (
    "organization_auditor",
    "organization_manager",
    "organization_billing_manager",
    "organization_user",
    "space_auditor",
    "space_manager",
    "space_developer",
    "space_supporter",
)


@dataclass(frozen=True)
class RoleCreate:
    type: str
    user_guid: str | None
    username: str | None
    user_origin: str | None
    space_guid: str | None
    organization_guid: str | None

    @property
    def is_space_role(self) -> bool:
        return self.type in SPACE_ROLE_TYPES


def _user(value: Any, errors: Errors) -> tuple[str | None, str | None, str | None]:
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(value, dict) or set(value) != {"data"} or not isinstance(data, dict):
        errors.add("user", 'must be structured like this: "user: {"data": {"guid": "valid-guid"}}"')
        return None, None, None
    guid, username, origin = data.get("guid"), data.get("username"), data.get("origin")
    if guid is not None:
        if username is not None:
            errors.add("username", "cannot be specified when identifying user by guid")
        if origin is not None:
            errors.add("user_origin", "cannot be specified when identifying user by guid")
        return to_one_guid({"data": {"guid": guid}}, "user", errors), None, None
    if username is None:
        if origin is not None:
            errors.add("user_origin", "cannot be specified without specifying the username")
        else:
            errors.add("user", "must have a username or guid specified")
        return None, None, None
    if not isinstance(username, str):
        errors.add("username", "must be a string")
    if origin is not None and not isinstance(origin, str):
        errors.add("user_origin", "must be a string")
    return None, username if isinstance(username, str) else None, origin if isinstance(origin, str) else None


def parse_role_create(body: dict[str, Any]) -> RoleCreate:
    errors = Errors()
    errors.base(unknown_fields(body, ROLE_CREATE_FIELDS))
    role_type = body.get("type")
    relationships = body.get("relationships")
    nested = Errors()
    user_guid = username = origin = space_guid = org_guid = None
    if not isinstance(relationships, dict):
        errors.add("relationships", "'relationships' is not an object")
    elif not relationships:
        errors.add("relationships", "'relationships' must include one or more valid relationships")
    else:
        nested.base(unknown_fields(relationships, ("space", "user", "organization")))
        if relationships.get("user") is None:
            nested.add("user", "can't be blank")
        else:
            user_guid, username, origin = _user(relationships["user"], nested)
        space, org = relationships.get("space"), relationships.get("organization")
        if space is None and org is None:
            nested.base("must specify either a space or an organization.")
        elif space is not None and org is not None:
            nested.base("cannot specify both an organization and a space.")
        elif space is not None:
            if role_type in ORG_ROLE_TYPES:
                nested.add("space", f"cannot be provided with the organization role type: '{role_type}'.")
            else:
                space_guid = to_one_guid(space, "space", nested)
        elif role_type in SPACE_ROLE_TYPES:
            nested.add("organization", f"cannot be provided with the space role type: '{role_type}'.")
        else:
            org_guid = to_one_guid(org, "organization", nested)
        errors.nested("Relationships", nested.messages)
    if role_type not in ALL_ROLE_TYPES:
        errors.add(
            "type",
            f"must be one of the allowed types {json.dumps(list(ALL_ROLE_TYPES), separators=(', ', ': '))}",
        )
    errors.raise_if_any()
    assert isinstance(role_type, str)
    return RoleCreate(role_type, user_guid, username, origin, space_guid, org_guid)
