"""Absolute links, built from the one external URL every href starts with."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Urls", "link", "mask_credentials"]


@dataclass(frozen=True)
class Urls:
    base: str

    def v3(self, *parts: str) -> str:
        return "/".join([self.base, "v3", *parts])

    def absolute(self, path: str) -> str:
        return self.base + path


def mask_credentials(value: str) -> str:
    """Hide the user and password a URL may carry (buildpack URLs), as Cloud Controller does."""
    parts = urlsplit(value)
    if not parts.scheme or "@" not in parts.netloc:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***:***@{host}"))


def link(href: str, method: str | None = None) -> dict[str, str]:
    out = {"href": href}
    if method is not None:
        out["method"] = method
    return out
