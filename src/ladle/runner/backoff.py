"""When a crashed instance starts again: Diego's restart schedule.

The first two consecutive crashes restart at once (the instance shows STARTING); from the third
the instance stays CRASHED for 30 s, then 1, 2, 4, 8 and at most 16 minutes before each new
start; after 200 crashes it is left alone until the app is restarted. An instance that ran for
more than five minutes before crashing starts counting again from one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["IMMEDIATE_RESTARTS", "MAX_CRASHES", "RESET_AFTER", "next_crash_count", "restart_at"]

IMMEDIATE_RESTARTS = 2
MAX_CRASHES = 200
RESET_AFTER = timedelta(minutes=5)
_FIRST_WAIT = timedelta(seconds=30)
_LONGEST_WAIT = timedelta(minutes=16)


def next_crash_count(previous: int, ran_for: timedelta) -> int:
    """The crash count after one more crash of an instance that ran ``ran_for`` before it."""
    return 1 if ran_for > RESET_AFTER else previous + 1


def restart_at(crash_count: int, crashed_at: datetime) -> datetime | None:
    """When the instance may start again; None means never (until the app is restarted)."""
    if crash_count <= IMMEDIATE_RESTARTS:
        return crashed_at
    if crash_count >= MAX_CRASHES:
        return None
    wait: timedelta = _FIRST_WAIT * (2 ** min(crash_count - IMMEDIATE_RESTARTS - 1, 5))
    return crashed_at + min(wait, _LONGEST_WAIT)
