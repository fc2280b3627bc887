"""App output on its way to the database, where the log-cache endpoints read it.

An app may write far faster than lines can be stored. Output is read as fast as it comes (a
pipe never fills, so the app never blocks on a write), queued up to a bound, and written in
batches; what does not fit is dropped and counted, and the app's log says how much was lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import IO

from sqlalchemy import insert

from ladle.db.models import LogLine
from ladle.db.session import Database

__all__ = ["AppLogSink", "LogSource", "pump"]

log = logging.getLogger("ladle.runner")

FLUSH_EVERY = 0.1
MAX_BATCH = 1000
MAX_QUEUED = 20000
MAX_LINE = 61 * 1024  # Loggregator cuts longer messages


@dataclass(frozen=True)
class LogSource:
    app_guid: str
    source_type: str  # APP/PROC/WEB, APP/TASK/<name>, CELL, RTR, ...
    instance_id: str = "0"


class AppLogSink:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: deque[dict[str, object]] = deque()
        self._dropped: dict[LogSource, int] = {}
        self._lock = threading.Lock()
        self._last_ts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ladle-app-logs", daemon=True)
        self._thread.start()

    def write(self, source: LogSource, message: str, stream: str = "OUT") -> None:
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self._dropped[source] = self._dropped.get(source, 0) + 1
                return
            self._queue.append(self._row(source, message[:MAX_LINE], stream))

    def _row(self, source: LogSource, message: str, stream: str) -> dict[str, object]:
        # Strictly increasing nanoseconds: log-cache readers page by timestamp.
        self._last_ts = max(time.time_ns(), self._last_ts + 1)
        return {
            "source_guid": source.app_guid,
            "build_guid": None,
            "timestamp": self._last_ts,
            "source_type": source.source_type,
            "instance_id": source.instance_id,
            "stream": stream,
            "message": message,
        }

    def _take(self) -> list[dict[str, object]]:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            if not self._queue and self._dropped:
                for source, count in self._dropped.items():
                    batch.append(
                        self._row(
                            source, f"Dropped {count} log lines: the app wrote faster than they could be stored", "ERR"
                        )
                    )
                self._dropped.clear()
        return batch

    def flush(self) -> None:
        while batch := self._take():
            try:
                with self.db.session() as s:
                    s.execute(insert(LogLine), batch)
                    s.commit()
            except Exception:
                log.exception("could not store app log lines")
                return

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()


def pump(stream: IO[bytes], sink: AppLogSink, source: LogSource, kind: str) -> None:
    """Copy a process's output into the sink, line by line, until it closes. Whatever comes is read
    as fast as it comes: a pipe that fills up would block the process writing to it."""
    for raw in iter(lambda: stream.readline(64 * 1024), b""):
        sink.write(source, raw.decode("utf-8", "replace").rstrip("\n"), kind)
