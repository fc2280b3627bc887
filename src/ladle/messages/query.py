"""Query strings as Cloud Controller reads them.

Rack decodes the query string once; list parameters are then split on commas and each part is
decoded again (``to_array!``). So ``names=a%2Cb`` is two names, and a literal comma inside one
value has to be sent as ``%252C``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_plus

__all__ = ["QueryString", "split_list"]

_COMMA = re.compile(r",\s*")


def split_list(value: str) -> list[str]:
    if value == "":
        return [""]
    return [unquote_plus(part) for part in _COMMA.split(value)]


class QueryString:
    """The decoded ``(key, value)`` pairs of a request's query, in order."""

    def __init__(self, raw: str) -> None:
        self.pairs: list[tuple[str, str]] = parse_qsl(raw, keep_blank_values=True)

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for key, _ in self.pairs:
            seen.setdefault(key, None)
        return list(seen)

    def get(self, key: str) -> str | None:
        """The last value given for ``key`` (Rack keeps the last of repeated scalars)."""
        found = None
        for k, v in self.pairs:
            if k == key:
                found = v
        return found

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _ in self.pairs)
