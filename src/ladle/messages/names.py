"""The name rule organizations and spaces share."""

from __future__ import annotations

import re
from typing import Any

from ladle.messages.base import Errors

__all__ = ["check_name"]

MAX_NAME = 255
# [[:alnum:][:punct:][:print:]]: printable text, no control characters.
_PRINTABLE = re.compile(r"\A[^\x00-\x1f\x7f]+\Z")


def check_name(body: dict[str, Any], errors: Errors, *, required: bool) -> str | None:
    """Validate ``body["name"]`` in the order Cloud Controller's validators run."""
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str):
            errors.add("name", "must be a string")
        else:
            if len(name) < 1:
                errors.add("name", "is too short (minimum is 1 character)")
            elif len(name) > MAX_NAME:
                errors.add("name", f"is too long (maximum is {MAX_NAME} characters)")
            if not _PRINTABLE.match(name):
                errors.add("name", "must not contain escaped characters")
    if required and (name is None or (isinstance(name, str) and not name.strip())):
        errors.add("name", "can't be blank")
    return name if isinstance(name, str) else None
