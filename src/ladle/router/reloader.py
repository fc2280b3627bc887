"""Keeps the router's table in step with its source: polls ``version()``, fetches a snapshot
when it moved, and hands it over to be swapped in. The source is only ever called on a worker
thread; a failing source leaves the current table in place and is tried again next interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ladle.router.model import Snapshot
from ladle.router.source import RouteSource

__all__ = ["Reloader"]

log = logging.getLogger("ladle.router")


class Reloader:
    def __init__(self, source: RouteSource, apply: Callable[[Snapshot], None], interval: float) -> None:
        self.source = source
        self.apply = apply
        self.interval = interval
        self.seen_version: int | None = None
        self.last_error: str | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Check now rather than at the next interval (for sources in the same process)."""
        self._wake.set()

    async def refresh(self) -> None:
        version = await asyncio.to_thread(self.source.version)
        if version == self.seen_version:
            return
        snapshot = await asyncio.to_thread(self.source.snapshot)
        self.apply(snapshot)
        self.seen_version = snapshot.version

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
                self.last_error = None
            except Exception as exc:
                if str(exc) != self.last_error:
                    log.exception("route source failed; keeping the current table")
                self.last_error = str(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
