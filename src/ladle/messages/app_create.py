"""``POST /v3/apps``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.lifecycle import LifecycleRequest, parse_lifecycle
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = ["APP_CREATE_FIELDS", "AppCreate", "parse_app_create"]

APP_CREATE_FIELDS: Fields = {
    "name": "string",
    "environment_variables": "object",
    "relationships": "object",
    "lifecycle": "object",
    "metadata": "object",
}

MAX_NAME = 255


@dataclass(frozen=True)
class AppCreate:
    name: str
    space_guid: str | None
    environment_variables: dict[str, Any]
    lifecycle: LifecycleRequest | None
    metadata: MetadataUpdate | None


def parse_app_create(body: dict[str, Any], default_lifecycle: str = "buildpack") -> AppCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, APP_CREATE_FIELDS))
    relationships = parse_to_one(body, errors, ("space",), required=("space",))
    lifecycle = parse_lifecycle(body, errors, default_lifecycle)
    name = body.get("name")
    if not isinstance(name, str):
        errors.add("name", "must be a string")
    elif len(name) > MAX_NAME:
        errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
    env = body.get("environment_variables")
    if env is not None and not isinstance(env, dict):
        errors.add("environment_variables", "must be an object")
    errors.raise_if_any()
    assert isinstance(name, str)
    return AppCreate(
        name=name,
        space_guid=relationships.get("space"),
        environment_variables=dict(env or {}),
        lifecycle=lifecycle,
        metadata=metadata,
    )
