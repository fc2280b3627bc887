"""App and staging logs: Ladle's live build log when the API advertises it, else log-cache's
``/api/v1/read`` (what any Cloud Foundry offers), printed as the cf CLI prints them."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ladle.client.api import CloudController

__all__ = ["follow_build_log", "format_envelope", "read_envelopes", "recent_lines", "tail"]

# Go's zero time: the cf CLI's start_time for "everything there is".
GO_ZERO_TIME = -6795364578871345152
RECENT_LIMIT = 1000


def format_envelope(envelope: dict[str, Any]) -> str:
    tags = envelope.get("tags") or {}
    log = envelope.get("log") or {}
    when = datetime.fromtimestamp(int(envelope.get("timestamp", 0)) / 1e9, UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "+0000"
    text = base64.b64decode(log.get("payload", "")).decode("utf-8", "replace").rstrip("\n")
    source = f"{tags.get('source_type', '')}/{envelope.get('instance_id', '')}"
    return f"{stamp} [{source}] {log.get('type', 'OUT')} {text}"


def read_envelopes(
    cc: CloudController, app_guid: str, start: int, *, descending: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    if not cc.config.log_cache:
        return []
    params: dict[str, str | int] = {"envelope_types": "LOG", "start_time": start, "limit": limit}
    if descending:
        params["descending"] = "true"
    body = cc.get(f"{cc.config.log_cache}/api/v1/read/{app_guid}", params)
    batch: list[dict[str, Any]] = (body.get("envelopes") or {}).get("batch") or []
    return batch


def recent_lines(cc: CloudController, app_guid: str) -> list[dict[str, Any]]:
    """The last lines (``cf logs --recent``), oldest first."""
    batch = read_envelopes(cc, app_guid, GO_ZERO_TIME, descending=True, limit=RECENT_LIMIT)
    return sorted(batch, key=lambda e: int(e.get("timestamp", 0)))


def tail(cc: CloudController, app_guid: str, since_ns: int, pause: float = 0.5) -> Iterator[dict[str, Any]]:
    """Lines from ``since_ns`` on, as they arrive, until the caller stops iterating."""
    start = since_ns
    while True:
        batch = sorted(read_envelopes(cc, app_guid, start), key=lambda e: int(e.get("timestamp", 0)))
        yield from batch
        if batch:
            start = int(batch[-1].get("timestamp", 0)) + 1
        else:
            time.sleep(pause)


def follow_build_log(cc: CloudController, url: str, emit: Callable[[str], None]) -> None:
    """Ladle's live build log: the lines as they come, until the build has finished."""
    with cc.stream("GET", url, headers={"Accept": "text/plain"}) as response:
        for line in response.iter_lines():
            if line:
                emit(line)
