"""``POST /v3/buildpacks``, ``PATCH /v3/buildpacks/:guid`` and ``POST /v3/buildpacks/:guid/upload``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ladle.errors import CFError
from ladle.messages.base import Errors, Fields, is_int, quote_list, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata

__all__ = [
    "BUILDPACK_CREATE_FIELDS",
    "BUILDPACK_UPDATE_FIELDS",
    "BuildpackChange",
    "parse_buildpack_create",
    "parse_buildpack_update",
    "parse_buildpack_upload",
]

BUILDPACK_CREATE_FIELDS: Fields = {
    "name": "string",
    "stack": "string",
    "position": "integer",
    "enabled": "boolean",
    "locked": "boolean",
    "lifecycle": "string",
    "metadata": "object",
}
BUILDPACK_UPDATE_FIELDS: Fields = {
    "name": "string",
    "stack": "string",
    "position": "integer",
    "enabled": "boolean",
    "locked": "boolean",
    "metadata": "object",
}

MAX = 250
UPLOAD_FIELDS = ("bits_name", "bits_path", "upload_start_time")
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b\x08"
_NAME = re.compile(r"\A[-\w]+\Z", re.ASCII)


@dataclass(frozen=True)
class BuildpackChange:
    values: dict[str, Any] = field(default_factory=dict)
    metadata: MetadataUpdate | None = None

    def has(self, key: str) -> bool:
        return key in self.values


def _check(body: dict[str, Any], errors: Errors, *, create: bool) -> None:
    if "name" in body or create:
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            errors.add("name", "must be a string")
        elif create and not name:
            errors.add("name", "can't be blank")
        elif isinstance(name, str) and len(name) > MAX:
            errors.add("name", f"is too long (maximum is {MAX} characters)")
        elif isinstance(name, str) and not _NAME.match(name):
            errors.add("name", "is invalid")
    stack = body.get("stack")
    if stack is not None:
        if not isinstance(stack, str):
            errors.add("stack", "must be a string")
        elif len(stack) > MAX:
            errors.add("stack", f"is too long (maximum is {MAX} characters)")
    if "position" in body and (body["position"] is not None or not create):
        position = body["position"]
        if isinstance(position, bool) or not isinstance(position, int | float):
            errors.add("position", "is not a number")
        elif not is_int(position):
            errors.add("position", "must be an integer")
        elif position < 1:
            errors.add("position", "must be greater than or equal to 1")
    for flag in ("enabled", "locked"):
        if flag in body and (body[flag] is not None or not create) and not isinstance(body[flag], bool):
            errors.add(flag, "must be a boolean")


def parse_buildpack_create(body: dict[str, Any]) -> BuildpackChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, BUILDPACK_CREATE_FIELDS))
    _check(body, errors, create=True)
    lifecycle = body.get("lifecycle")
    if lifecycle is not None and lifecycle not in ("buildpack", "cnb"):
        errors.add("lifecycle", 'must be either "buildpack" or "cnb"')
    errors.raise_if_any()
    values = {
        k: body[k] for k in ("name", "stack", "position", "enabled", "locked", "lifecycle") if body.get(k) is not None
    }
    return BuildpackChange(values, metadata)


def parse_buildpack_update(body: dict[str, Any]) -> BuildpackChange:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, BUILDPACK_UPDATE_FIELDS))
    _check(body, errors, create=False)
    errors.raise_if_any()
    values: dict[str, Any] = {k: body[k] for k in ("name", "stack", "position", "enabled", "locked") if k in body}
    return BuildpackChange(values, metadata)


def parse_buildpack_upload(fields: Mapping[str, str], *, filename: str | None, head: bytes | None, size: int) -> str:
    """The multipart form of an upload: one file part ``bits`` whose first bytes are ``head``
    (None when no file came). Returns the file name to keep."""
    problems = []
    extra = [k for k in fields if k not in UPLOAD_FIELDS]
    if extra:
        problems.append(f"Unknown field(s): {quote_list(extra)}")
    name = filename or "bits"
    if head is None:
        problems.append("A buildpack zip file must be uploaded as 'bits'")
    else:
        if not (head.startswith(ZIP_MAGIC) or head.startswith(GZIP_MAGIC)):
            problems.append(f"{name} is not a zip or gzip archive")
        if size == 0:
            problems.append(f"{name} cannot be empty")
    if problems:
        raise CFError("UnprocessableEntity", "Uploaded buildpack file is invalid: " + ", ".join(problems))
    return filename or "buildpack.zip"
