"""log-cache's documents: ``/api/v1/info`` and the envelope batches of ``/api/v1/read``."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from ladle.db.models import App, LogLine

__all__ = ["LOG_CACHE_VERSION", "present_envelopes", "present_log_cache_info"]

# The log-cache release whose API this follows.
LOG_CACHE_VERSION = "2.12.0"


def present_log_cache_info(uptime_seconds: int) -> dict[str, Any]:
    return {"version": LOG_CACHE_VERSION, "vm_uptime": str(uptime_seconds)}


def present_envelopes(app: App, lines: Sequence[LogLine]) -> dict[str, Any]:
    """Log lines as Loggregator v2 envelopes (payloads base64, as log-cache's JSON gateway sends them)."""
    batch = [
        {
            "timestamp": str(line.timestamp),
            "source_id": app.guid,
            "instance_id": line.instance_id,
            "deprecated_tags": {},
            "tags": {"source_type": line.source_type, "app_id": app.guid, "app_name": app.name},
            "log": {"payload": base64.b64encode(line.message.encode()).decode(), "type": line.stream},
        }
        for line in lines
    ]
    return {"envelopes": {"batch": batch}}
