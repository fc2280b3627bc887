"""``POST /v3/service_credential_bindings`` (type ``app``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.errors import CFError
from ladle.messages.base import Errors, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = ["BindingCreate", "parse_binding_create"]

KEYS = ("type", "strategy", "name", "relationships", "parameters", "metadata")
MAX_NAME = 255


@dataclass(frozen=True)
class BindingCreate:
    service_instance_guid: str
    app_guid: str
    name: str | None
    parameters: dict[str, Any] | None
    metadata: MetadataUpdate | None


def parse_binding_create(body: dict[str, Any]) -> BindingCreate:
    errors = Errors()
    errors.base(unknown_fields(body, KEYS))
    kind = body.get("type")
    if kind == "key":
        # Keys belong to managed instances, and without brokers there are none.
        raise CFError(
            "UnprocessableEntity",
            "Service credential bindings of type 'key' need a managed service "
            "instance, and Ladle has no service brokers yet",
        )
    if kind != "app":
        errors.add("type", "must be 'app' or 'key'")
    strategy = body.get("strategy")
    if strategy is not None and strategy not in ("single", "multiple"):
        errors.add("strategy", "must be 'single' or 'multiple'")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        errors.add("name", "must be a string")
    elif isinstance(name, str) and len(name) > MAX_NAME:
        errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        errors.add("parameters", "must be an object")
    metadata = parse_metadata(body, errors)
    guids = parse_to_one(body, errors, ("service_instance", "app"), required=("service_instance", "app"))
    errors.raise_if_any()
    return BindingCreate(
        service_instance_guid=guids.get("service_instance") or "",
        app_guid=guids.get("app") or "",
        name=name or None,
        parameters=parameters,
        metadata=metadata,
    )
