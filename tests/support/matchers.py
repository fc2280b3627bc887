"""Values a test cannot know in advance, compared by shape."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ANY_GUID", "ANY_TIMESTAMP", "Matches", "is_cf_error"]


class Matches:
    def __init__(self, pattern: str, name: str) -> None:
        self.pattern = re.compile(pattern)
        self.name = name

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, str) and bool(self.pattern.fullmatch(other))

    def __repr__(self) -> str:
        return self.name

    __hash__ = None  # type: ignore[assignment]


ANY_GUID = Matches(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", "ANY_GUID")
ANY_TIMESTAMP = Matches(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "ANY_TIMESTAMP")


def is_cf_error(body: Any) -> bool:
    """``body`` (parsed JSON) is Cloud Controller's error envelope:
    ``{"errors": [{"code": int, "title": "CF-...", "detail": str}, ...]}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        isinstance(errors, list)
        and len(errors) > 0
        and all(
            isinstance(e, dict)
            and isinstance(e.get("code"), int)
            and isinstance(e.get("title"), str)
            and e["title"].startswith("CF-")
            and isinstance(e.get("detail"), str)
            for e in errors
        )
    )
