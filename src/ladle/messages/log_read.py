"""log-cache's ``GET /api/v1/read/:source_id`` query."""

from __future__ import annotations

from dataclasses import dataclass

from ladle.errors import CFError
from ladle.messages.query import QueryString

__all__ = ["MAX_LIMIT", "LogRead", "parse_log_read"]

MAX_LIMIT = 1000


@dataclass(frozen=True)
class LogRead:
    start: int
    end: int
    limit: int
    descending: bool
    # False when the client asked only for envelope types other than logs (metrics, events).
    wants_logs: bool


def _int(query: QueryString, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise CFError("BadQueryParameter", f"{name} must be an integer") from None


def parse_log_read(query: QueryString, *, now_ns: int) -> LogRead:
    limit = _int(query, "limit", 100)
    if not 1 <= limit <= MAX_LIMIT:
        raise CFError("BadQueryParameter", f"limit must be between 1 and {MAX_LIMIT}")
    types = [v for k, v in query.pairs if k == "envelope_types"]
    if types and not {"LOG", "ANY"} & set(types):
        return LogRead(0, 0, limit, False, wants_logs=False)
    return LogRead(
        start=_int(query, "start_time", 0),
        end=_int(query, "end_time", now_ns + 1),
        limit=limit,
        descending=(query.get("descending") or "").lower() == "true",
        wants_logs=True,
    )
