"""A staging log line as plain text, in the format the cf CLI prints."""

from __future__ import annotations

from datetime import UTC, datetime

from ladle.db.models import LogLine

__all__ = ["present_log_line"]


def present_log_line(line: LogLine) -> str:
    when = datetime.fromtimestamp(line.timestamp / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "+0000"
    return f"{when} [{line.source_type}/{line.instance_id}] {line.stream} {line.message}"
