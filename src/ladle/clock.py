"""Time and identifiers as Cloud Foundry shows them: UTC, whole seconds, lowercase v4 UUIDs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

__all__ = ["format_timestamp", "new_guid", "parse_timestamp", "utcnow"]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    """Now, as a naive UTC datetime with the sub-second part dropped (CF stores whole seconds)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def format_timestamp(value: datetime | None) -> str | None:
    # isoformat is several times cheaper than strftime, and every resource shows two of these.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep="T", timespec="seconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """Parse ``YYYY-MM-DDThh:mm:ssZ``; raise ValueError on anything else."""
    return datetime.strptime(text, TIMESTAMP_FORMAT)


def new_guid() -> str:
    return str(uuid.uuid4())
