"""Absolute links, built from the one external URL every href starts with."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Urls", "link"]


@dataclass(frozen=True)
class Urls:
    base: str

    def v3(self, *parts: str) -> str:
        return "/".join([self.base, "v3", *parts])

    def absolute(self, path: str) -> str:
        return self.base + path


def link(href: str, method: str | None = None) -> dict[str, str]:
    out = {"href": href}
    if method is not None:
        out["method"] = method
    return out
