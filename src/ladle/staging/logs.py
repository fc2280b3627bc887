"""Staging output on its way to the database, where log-cache reads and live build streams find it."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import insert

from ladle.db.models import LogLine
from ladle.db.session import Database

__all__ = ["BuildLog"]

log = logging.getLogger("ladle.staging")

FLUSH_EVERY = 0.2
MAX_LINE = 61 * 1024  # Loggregator cuts longer messages
MAX_BATCH = 500


class BuildLog:
    """Collects a staging's lines and writes them in small batches from a background thread.

    Timestamps are nanoseconds, strictly increasing: log-cache readers page by timestamp.
    """

    def __init__(self, db: Database, app_guid: str, build_guid: str, rate_limit: int = -1) -> None:
        self.db = db
        self.app_guid = app_guid
        self.build_guid = build_guid
        self.rate_limit = rate_limit
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._last_ts = 0
        self._window_start = time.monotonic()
        self._window_bytes = 0
        self._warned_rate = False
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._run, name="ladle-build-log", daemon=True)
        self._flusher.start()

    def _allowed(self, size: int) -> bool:
        if self.rate_limit < 0:
            return True
        now = time.monotonic()
        if now - self._window_start >= 1:
            self._window_start, self._window_bytes, self._warned_rate = now, 0, False
        if self._window_bytes + size > self.rate_limit:
            return False
        self._window_bytes += size
        return True

    def write(self, message: str, stream: str = "OUT") -> None:
        message = message[:MAX_LINE]
        with self._lock:
            if not self._allowed(len(message.encode())):
                if self._warned_rate:
                    return
                self._warned_rate = True
                message, stream = (
                    f"app instance exceeded log rate limit ({self.rate_limit} bytes/sec)",
                    "ERR",
                )
            self._last_ts = max(time.time_ns(), self._last_ts + 1)
            self._pending.append(
                {
                    "source_guid": self.app_guid,
                    "build_guid": self.build_guid,
                    "timestamp": self._last_ts,
                    "source_type": "STG",
                    "instance_id": "0",
                    "stream": stream,
                    "message": message,
                }
            )

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        for start in range(0, len(batch), MAX_BATCH):
            try:
                with self.db.session() as s:
                    s.execute(insert(LogLine), batch[start : start + MAX_BATCH])
                    s.commit()
            except Exception:
                log.exception("could not store staging log lines", extra={"build": self.build_guid})

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self._flush()

    def close(self) -> None:
        """Write everything still pending; safe to call more than once."""
        self._stop.set()
        if self._flusher.is_alive():
            self._flusher.join(timeout=10)
        self._flush()
