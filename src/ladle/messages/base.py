"""The pieces request messages are validated with, producing Cloud Controller's wording.

A message collects every problem it finds into :class:`Errors` as "full messages" (a humanized
attribute name followed by the problem, e.g. ``Name must be a string``), then raises them
joined with ", " in one 422, as ActiveModel's ``errors.full_messages`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ladle.errors import CFError

__all__ = [
    "Errors",
    "Fields",
    "humanize",
    "is_int",
    "quote_list",
    "unknown_fields",
]


def humanize(attribute: str) -> str:
    """``staging_memory_in_mb`` -> ``Staging memory in mb`` (Rails' ``humanize``)."""
    text = attribute.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def quote_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# A request body's fields and the JSON type of each ("string", "boolean", "integer", "number",
# "object", "array", or "any" for one of several shapes): declared once beside its parser, which
# refuses every other field (``unknown_fields``), and read by the OpenAPI document.
Fields = Mapping[str, str]


def unknown_fields(body: Mapping[str, Any], allowed: Iterable[str]) -> str | None:
    allowed_set = set(allowed)
    extra = [k for k in body if k not in allowed_set]
    return f"Unknown field(s): {quote_list(extra)}" if extra else None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Errors:
    """Full messages, in the order they were found."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, attribute: str | None, message: str) -> None:
        self.messages.append(message if attribute is None else f"{humanize(attribute)} {message}")

    def base(self, message: str | None) -> None:
        """An error about the whole message (no attribute in front)."""
        if message:
            self.messages.append(message)

    def nested(self, prefix: str, messages: Iterable[str]) -> None:
        """Errors of a nested message, shown as ``<Prefix> <its full message>``."""
        for message in messages:
            self.messages.append(f"{prefix} {message}")

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self, error: str = "UnprocessableEntity") -> None:
        if self.messages:
            raise CFError(error, ", ".join(self.messages))
