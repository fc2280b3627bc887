"""Waiting for the API: short first pauses (Ladle finishes jobs in milliseconds), then the cf
CLI's 3 seconds, so a slow wait costs no more requests than the cf CLI's does."""

from __future__ import annotations

import time
from collections.abc import Iterator

__all__ = ["INSTANCE_PAUSES", "Deadline", "pauses"]

FIRST_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5)
# An instance takes a second or two to start (a process, then its health check): looking every
# quarter second at first finds it running soon after it does; after that the pauses grow to the
# cf CLI's 3 s so that a slow start costs no more requests than the cf CLI's polling does.
INSTANCE_PAUSES = (0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 1.0, 1.5)
STEADY_PAUSE = 3.0


def pauses(first: tuple[float, ...] = FIRST_PAUSES) -> Iterator[float]:
    yield from first
    while True:
        yield STEADY_PAUSE


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def sleep(self, pause: float) -> None:
        time.sleep(max(0.0, min(pause, self.at - time.monotonic())))
