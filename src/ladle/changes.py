"""A process-local signal that instance rows changed, so a waiting stream answers at once.

The app runner of this node notifies after it commits an instance's state (starting, running,
exited); ``GET /v3/processes/:guid/stats/stream`` waits on it instead of sleeping between looks
at the database. A runner on another node cannot reach it, so waiters still look at the database
after ``timeout`` at the latest: the signal only makes the common case (API and runner in one
process) prompt, it never carries the state itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

__all__ = ["ChangeSignal"]


class ChangeSignal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        """Wake every waiter; callable from any thread."""
        with self._lock:
            waiters = list(self._waiters)
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
