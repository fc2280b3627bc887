"""``POST /v3/packages`` (a new package, or a copy with ``?source_guid=``) and the seed's older
``POST /v3/apps/:guid/packages``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladle.messages.base import Errors, Fields, unknown_fields
from ladle.messages.metadata import MetadataUpdate, parse_metadata
from ladle.messages.relationships import parse_to_one

__all__ = [
    "PACKAGE_CREATE_FIELDS",
    "DockerData",
    "PackageCopy",
    "PackageCreate",
    "parse_legacy_package_create",
    "parse_package_copy",
    "parse_package_create",
]

PACKAGE_CREATE_FIELDS: Fields = {"relationships": "object", "type": "string", "data": "object", "metadata": "object"}

PACKAGE_TYPES = ("bits", "docker")


@dataclass(frozen=True)
class DockerData:
    image: str
    username: str | None
    password: str | None


@dataclass(frozen=True)
class PackageCreate:
    type: str
    app_guid: str | None
    docker: DockerData | None
    metadata: MetadataUpdate | None


@dataclass(frozen=True)
class PackageCopy:
    # None when the body names no app; Cloud Controller answers that as an invalid app.
    app_guid: str | None


def parse_package_copy(body: dict[str, Any]) -> PackageCopy:
    """The destination of a copy: ``{"relationships": {"app": {"data": {"guid": ...}}}}``."""
    relationships = body.get("relationships")
    app = relationships.get("app") if isinstance(relationships, dict) else None
    data = app.get("data") if isinstance(app, dict) else None
    guid = data.get("guid") if isinstance(data, dict) else None
    return PackageCopy(guid if isinstance(guid, str) else None)


def _docker_data(data: Any, errors: Errors) -> DockerData | None:
    nested = Errors()
    if not isinstance(data, dict):
        data = {}
    image = data.get("image")
    if not isinstance(image, str):
        nested.add("image", "must be a string")
    if not image:
        nested.add("image", "required")
    nested.base(unknown_fields(data, ("image", "username", "password")))
    errors.nested("Data", nested.messages)
    if nested:
        return None
    username, password = data.get("username"), data.get("password")
    return DockerData(
        str(image), None if username is None else str(username), None if password is None else str(password)
    )


def parse_package_create(body: dict[str, Any]) -> PackageCreate:
    errors = Errors()
    metadata = parse_metadata(body, errors)
    errors.base(unknown_fields(body, PACKAGE_CREATE_FIELDS))
    package_type = body.get("type")
    docker = None
    if package_type == "docker":
        docker = _docker_data(body.get("data"), errors)
    elif package_type == "bits" and body.get("data") not in (None, {}):
        errors.nested("Data", ["Data must be empty if provided for bits packages"])
    relationships = parse_to_one(body, errors, ("app",), required=("app",))
    if package_type not in PACKAGE_TYPES:
        errors.add("type", "must be one of 'bits, docker'")
    errors.raise_if_any()
    assert isinstance(package_type, str)
    return PackageCreate(package_type, relationships.get("app"), docker, metadata)


def parse_legacy_package_create(app_guid: str, body: dict[str, Any]) -> PackageCreate:
    """The 2015 form: ``{"type": "docker", "url": "docker://image"}`` or ``{"type": "bits"}``.

    ``url`` becomes the modern ``data.image`` (without its ``docker://`` scheme, which no
    registry understands).
    """
    errors = Errors()
    errors.base(unknown_fields(body, ("type", "url", "data")))
    package_type = body.get("type")
    url = body.get("url")
    if package_type not in PACKAGE_TYPES:
        errors.add("type", "must be one of 'bits, docker'")
    elif package_type == "bits":
        if url not in (None, ""):
            errors.add("url", "must be blank when type is bits")
        if body.get("data") not in (None, {}):
            errors.add("data", "data must be empty if provided for bits packages")
    elif not isinstance(url, str) or not url:
        errors.add("url", "can not be blank when type is docker")
    errors.raise_if_any()
    assert isinstance(package_type, str)
    docker = None
    if package_type == "docker":
        assert isinstance(url, str)
        docker = DockerData(url.removeprefix("docker://"), None, None)
    return PackageCreate(package_type, app_guid, docker, None)
