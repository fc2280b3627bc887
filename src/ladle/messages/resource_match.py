"""``POST /v3/resource_matches``."""

from __future__ import annotations

import re
from typing import Any

from ladle.messages.base import Errors
from ladle.messages.package_upload import Fingerprint

__all__ = ["MAX_RESOURCES", "parse_resource_match"]

MAX_RESOURCES = 5000
_MODE = re.compile(r"\A[0-7]{3,4}\Z")
_PREFIX = "Resources array contains at least one resource with "


def parse_resource_match(body: dict[str, Any]) -> list[Fingerprint]:
    errors = Errors()
    resources = body.get("resources")
    if not isinstance(resources, list):
        errors.add("resources", "must be an array")
    # Like CC's length check, strings and objects count their own length; null counts as empty.
    if resources is None or (isinstance(resources, list | str | dict) and len(resources) == 0):
        errors.add("resources", "must have at least 1 resource")
    if not isinstance(resources, list):
        resources = []
    if len(resources) > MAX_RESOURCES:
        errors.add("resources", f"array can have at most {MAX_RESOURCES} resources")
    found: list[str] = []

    def problem(message: str) -> None:
        if message not in found:
            found.append(message)

    for resource in resources:
        if not isinstance(resource, dict):
            problem("a non-object checksum")
            continue
        checksum = resource.get("checksum")
        if not isinstance(checksum, dict):
            problem("a non-object checksum")
        elif not isinstance(checksum.get("value"), str):
            problem("a non-string checksum value")
        elif len(checksum["value"]) != 40:
            problem("a non-SHA1 checksum value")
        size = resource.get("size_in_bytes")
        if not isinstance(size, int) or isinstance(size, bool):
            problem("a non-integer size_in_bytes")
        elif size < 0:
            problem("a negative size_in_bytes")
        mode = resource.get("mode")
        if mode is not None:
            if not isinstance(mode, str):
                problem("a non-string mode")
            elif not _MODE.match(mode):
                problem("an incorrect mode")
    for message in found:
        errors.base(_PREFIX + message)
    errors.raise_if_any()
    return [
        Fingerprint(r.get("path"), r["checksum"]["value"], r["size_in_bytes"], r.get("mode"))
        for r in resources
        if isinstance(r, dict)
    ]
