"""Waiting for something observable, with a deadline: the one way tests wait.

Only the standard library is used, so scripts that run in other virtual environments (the
cloudfoundry-client flow) can share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "",
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    At the deadline the test fails with ``message`` (a string, or a function giving one, so it
    can show the last state seen). Exceptions from ``condition`` are not caught.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result is not None and result:
            return result
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"not true after {timeout:g}s: {text or condition!r}")
        time.sleep(interval)
