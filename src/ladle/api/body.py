"""Reading a request body at a pace: a client that stalls, or trickles a few bytes a second,
is answered 408 instead of holding its request (and whatever the request holds) for ever.

uvicorn has no body timeout of its own. The rule, like nginx's ``client_body_timeout`` plus a
minimum rate: no wait for the next chunk may exceed ``body_timeout`` seconds, and once
``body_timeout`` seconds have passed the body must have averaged ``body_min_rate`` bytes a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request

from ladle.config import Settings
from ladle.errors import CFError

__all__ = ["Pace", "paced_stream"]


@dataclass(frozen=True)
class Pace:
    timeout: float
    min_rate: int

    @classmethod
    def of(cls, settings: Settings) -> Pace:
        return cls(settings.body_timeout, settings.body_min_rate)


async def paced_stream(request: Request, pace: Pace) -> AsyncIterator[bytes]:
    """``request.stream()``, raising ``CFError("RequestTimeout")`` when the body falls behind."""
    started = time.monotonic()
    received = 0
    chunks = request.stream().__aiter__()
    while True:
        elapsed = time.monotonic() - started
        if elapsed > pace.timeout and received < pace.min_rate * elapsed:
            raise CFError("RequestTimeout")
        # Wait until the bytes received so far stop covering the minimum rate, and never longer
        # than the timeout.
        deadline = max(pace.timeout, received / pace.min_rate)
        wait = min(pace.timeout, max(deadline - elapsed, 0.001))
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout=wait)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise CFError("RequestTimeout") from None
        received += len(chunk)
        yield chunk
