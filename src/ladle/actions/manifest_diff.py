"""``manifest_diff``: what applying a manifest would change, against the apps as they are now.

Changes are JSON-patch-like operations on ``/applications/<index>/<key>``, computed against the
``GET /v3/apps/:guid/manifest`` rendering of each app. Manifests are additive, so keys the
manifest leaves out are not reported as removals.
"""

from __future__ import annotations

from typing import Any

__all__ = ["diff_manifest"]


def _compare(path: str, was: Any, value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(was, dict) and isinstance(value, dict):
        for key, item in value.items():
            if key not in was:
                out.append({"op": "add", "path": f"{path}/{key}", "value": item})
            else:
                _compare(f"{path}/{key}", was[key], item, out)
        return
    if was != value:
        out.append({"op": "replace", "path": path, "was": was, "value": value})


def diff_manifest(current: list[dict[str, Any] | None], wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``current[i]`` is app ``i`` as it exists (None if it does not); ``wanted[i]`` its manifest entry."""
    out: list[dict[str, Any]] = []
    for index, (now, entry) in enumerate(zip(current, wanted, strict=True)):
        path = f"/applications/{index}"
        if now is None:
            out.append({"op": "add", "path": path, "value": entry})
            continue
        _compare(path, now, entry, out)
    return out
