"""Droplet requests: create (an empty droplet awaiting upload), copy, update and upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.errors import CFError
from ladle.messages.base import Errors, Fields, quote_list, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import MAX_GUID, parse_to_one

__all__ = [
    "DROPLET_CREATE_FIELDS",
    "DROPLET_UPDATE_FIELDS",
    "DropletCopy",
    "DropletCreate",
    "DropletUpdate",
    "DropletUpload",
    "parse_droplet_copy",
    "parse_droplet_create",
    "parse_droplet_update",
    "parse_droplet_upload",
]

DROPLET_CREATE_FIELDS: Fields = {"relationships": "object", "process_types": "object"}
DROPLET_UPDATE_FIELDS: Fields = {"image": "string", "metadata": "object"}

UPLOAD_FIELDS = ("bits_path", "bits_name", "upload_start_time")


@dataclass(frozen=True)
class DropletCreate:
    app_guid: str
    process_types: dict[str, str] | None


@dataclass(frozen=True)
class DropletCopy:
    app_guid: str


@dataclass(frozen=True)
class DropletUpdate:
    image: str | None
    has_image: bool
    metadata: MetadataUpdate | None


@dataclass(frozen=True)
class DropletUpload:
    filename: str


def parse_droplet_create(body: dict[str, Any]) -> DropletCreate:
    errors = Errors()
    errors.base(unknown_fields(body, DROPLET_CREATE_FIELDS))
    guids = parse_to_one(body, errors, ("app",), required=("app",))
    process_types = body.get("process_types")
    if process_types is not None:
        if not isinstance(process_types, dict):
            errors.add("process_types", "must be an object")
        else:
            if any(not key for key in process_types):
                errors.add("process_types", "key must not be empty")
            if any(not isinstance(value, str) for value in process_types.values()):
                errors.add("process_types", "value must be a string")
    errors.raise_if_any()
    app_guid = guids.get("app")
    assert app_guid is not None
    return DropletCreate(app_guid, process_types)


def parse_droplet_copy(body: dict[str, Any]) -> DropletCopy:
    # Unlike create, Cloud Controller words these without a "Relationships" prefix.
    errors = Errors()
    errors.base(unknown_fields(body, ("relationships",)))
    relationships = body.get("relationships")
    app = relationships.get("app") if isinstance(relationships, dict) else None
    if not isinstance(app, dict):
        errors.add("app", "must be an object")
    data = app.get("data") if isinstance(app, dict) else None
    guid = data.get("guid") if isinstance(data, dict) else None
    if not isinstance(guid, str):
        errors.add("app_guid", "must be a string")
    if not isinstance(guid, str) or not 1 <= len(guid) <= MAX_GUID:
        errors.add("app_guid", f"must be between 1 and {MAX_GUID} characters")
    errors.raise_if_any()
    assert isinstance(guid, str)
    return DropletCopy(guid)


def parse_droplet_update(body: dict[str, Any]) -> DropletUpdate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, DROPLET_UPDATE_FIELDS))
    image = body.get("image")
    if image is not None and not isinstance(image, str):
        errors.add("image", "must be a string")
    errors.raise_if_any()
    return DropletUpdate(image, "image" in body, metadata)


def parse_droplet_upload(
    fields: dict[str, str], file_fields: set[str], *, filename: str | None, size: int
) -> DropletUpload:
    """The multipart form of ``POST /v3/droplets/:guid/upload``: one file part named ``bits``."""
    errors = Errors()
    extra = [name for name in [*fields, *file_fields] if name not in (*UPLOAD_FIELDS, "bits")]
    if extra:
        errors.base(f"Unknown field(s): {quote_list(extra)}")
    if "bits" not in file_fields:
        errors.base("A droplet tgz file must be uploaded as 'bits'")
    if "bits" in fields:
        errors.base("Uploaded bits are not a valid droplet file")
    if fields.get("bits_path"):
        # Ladle receives files itself; it never reads a path a client names on the server.
        errors.add("bits_path", "is invalid")
    name = filename or "bits"
    if "bits" in file_fields:
        if not (name.endswith(".tgz") or name.endswith(".tar.gz")):
            errors.base(f"{name} is not a tgz")
        if size == 0:
            errors.base(f"{name} cannot be empty")
    if errors:
        raise CFError("UnprocessableEntity", "Uploaded droplet file is invalid: " + ", ".join(errors.messages))
    return DropletUpload(name)
