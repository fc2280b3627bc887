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
    return None if value is None else value.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse ``YYYY-MM-DDThh:mm:ssZ``; raise ValueError on anything else."""
    return datetime.strptime(text, TIMESTAMP_FORMAT)


def new_guid() -> str:
    return str(uuid.uuid4())
