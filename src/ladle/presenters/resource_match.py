"""``POST /v3/resource_matches`` JSON."""

from __future__ import annotations

from typing import Any

from ladle.messages.package_upload import Fingerprint

__all__ = ["present_resource_matches"]


def present_resource_matches(matched: list[Fingerprint]) -> dict[str, Any]:
    return {
        "resources": [
            {"checksum": {"value": f.sha1}, "size_in_bytes": f.size, "path": f.fn, "mode": f.mode} for f in matched
        ]
    }
