"""Setting an app's current droplet: ``PATCH /v3/apps/:guid/relationships/current_droplet`` and
the seeds' ``PUT /v3/apps/:guid/current_droplet``."""

from __future__ import annotations

from typing import Any

from ladle.errors import CFError
from ladle.messages.base import quote_list

__all__ = ["parse_current_droplet", "parse_legacy_current_droplet"]

CANNOT_REMOVE = "Current droplet cannot be removed. Replace it with a preferred droplet."


def parse_current_droplet(body: dict[str, Any]) -> str | None:
    """The droplet guid of ``{"data": {"guid": ...}}``; None when it names none usable (the
    action then answers that it cannot be assigned). ``data`` of null removes, which CC refuses."""
    data = body.get("data")
    if "data" in body and (not isinstance(data, dict) or data.get("guid") is None):
        raise CFError("UnprocessableEntity", CANNOT_REMOVE)
    guid = data.get("guid") if isinstance(data, dict) else None
    return guid if isinstance(guid, str) else None


def parse_legacy_current_droplet(body: dict[str, Any]) -> str:
    """The 2016 form: ``{"droplet_guid": ...}``."""
    unknown = sorted(set(body) - {"droplet_guid"})
    if unknown:
        raise CFError("UnprocessableEntity", f"Unknown field(s): {quote_list(unknown)}")
    guid = body.get("droplet_guid")
    if not isinstance(guid, str) or not guid:
        raise CFError("UnprocessableEntity", "Droplet guid must be a string")
    return guid
