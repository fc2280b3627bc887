"""``PATCH /v3/packages/:guid``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = ["PACKAGE_UPDATE_FIELDS", "PackageUpdate", "parse_package_update"]

PACKAGE_UPDATE_FIELDS: Fields = {"username": "string", "password": "string", "metadata": "object"}

MAX_PASSWORD = 5000


@dataclass(frozen=True)
class PackageUpdate:
    username: str | None
    password: str | None
    metadata: MetadataUpdate | None

    @property
    def changes_credentials(self) -> bool:
        return self.username is not None or self.password is not None


def parse_package_update(body: dict[str, Any]) -> PackageUpdate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, PACKAGE_UPDATE_FIELDS))
    username, password = body.get("username"), body.get("password")
    for name, value in (("username", username), ("password", password)):
        if value is not None and not isinstance(value, str):
            errors.add(name, "must be a string")
    if isinstance(password, str) and len(password) > MAX_PASSWORD:
        errors.add("password", "can be up to 5,000 characters")
    errors.raise_if_any()
    return PackageUpdate(username, password, metadata)
