"""A process-local signal that what apps' traffic and stats derive from changed, so whoever waits
on it looks at once.

The app runner of this node notifies after it commits an instance's state (starting, running,
exited), the API after it changes a route's destinations, and the job runner when a job that
changes routing ends (``JobKind.routing``). ``GET
/v3/processes/:guid/stats/stream`` waits on it instead of sleeping between looks at the database,
and ``ladle serve`` subscribes its router process, which then re-reads its table at once instead
of at its next poll. Another node cannot reach it, so waiters still look at the database after
their own interval: the signal only makes the common case (API, runner and router on one node)
prompt, it never carries the state itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

__all__ = ["ChangeSignal"]

log = logging.getLogger("ladle")


class ChangeSignal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback`` is called on every notification, on the notifying thread: keep it short."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def notify(self) -> None:
        """Call every subscriber and wake every waiter; callable from any thread."""
        with self._lock:
            subscribers = list(self._subscribers)
            waiters = list(self._waiters)
        for callback in subscribers:
            try:
                callback()
            except Exception:  # a subscriber's trouble must not fail the runner's report
                log.exception("a change subscriber failed")
        for loop, event in waiters:
            # A loop that has closed took its waiter with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> bool:
        """Until the next notification or ``timeout`` seconds; whether one came."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter[1].wait()
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(waiter)
