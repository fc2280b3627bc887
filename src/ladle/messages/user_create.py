"""``POST /v3/users``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["USER_CREATE_FIELDS", "UserCreate", "parse_user_create"]

USER_CREATE_FIELDS: Fields = {"guid": "string", "origin": "string", "username": "string", "metadata": "object"}


@dataclass(frozen=True)
class UserCreate:
    guid: str | None
    username: str | None
    origin: str | None
    metadata: MetadataUpdate | None


def parse_user_create(body: dict[str, Any]) -> UserCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, USER_CREATE_FIELDS))
    guid, username, origin = body.get("guid"), body.get("username"), body.get("origin")
    if guid is not None:
        if username is not None:
            errors.add("username", "cannot be provided with 'guid'")
        if origin is not None:
            errors.add("origin", "cannot be provided with 'guid'")
        if not isinstance(guid, str):
            errors.add("guid", "must be a string")
        if not isinstance(guid, str) or not 1 <= len(guid) <= 200:
            errors.add("guid", "must be between 1 and 200 characters")
    elif username is not None or origin is not None:
        if origin is None:
            errors.add("username", "can only be provided together with 'origin'")
        elif username is None:
            errors.add("origin", "can only be provided together with 'username'")
        else:
            if not isinstance(username, str):
                errors.add("username", "must be a string")
            if not isinstance(origin, str):
                errors.add("origin", "must be a string")
            elif origin == "uaa":
                errors.add("origin", "cannot be 'uaa' when creating a user by username")
    else:
        errors.add("guid", "or 'username' and 'origin' must be provided")
    errors.raise_if_any()
    return UserCreate(guid, username, origin, metadata)
