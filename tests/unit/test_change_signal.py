"""The process-local instance change signal: a notification from any thread wakes every waiter."""

from __future__ import annotations

import asyncio
import threading

from ladle.changes import ChangeSignal


def test_a_notification_from_another_thread_wakes_every_waiter() -> None:
    signal = ChangeSignal()

    async def scenario() -> list[bool]:
        waiters = [asyncio.create_task(signal.wait(600)) for _ in range(3)]
        await asyncio.sleep(0)  # let them register
        threading.Thread(target=signal.notify).start()
        return await asyncio.wait_for(asyncio.gather(*waiters), 30)

    assert asyncio.run(scenario()) == [True, True, True]
    assert not signal._waiters, "a woken waiter should leave no registration behind"


def test_no_notification_is_a_timeout_and_leaves_nothing_behind() -> None:
    signal = ChangeSignal()
    assert asyncio.run(signal.wait(0.01)) is False
    assert not signal._waiters
    signal.notify()  # nobody waits: nothing to do, nothing raised


def test_a_notification_before_the_wait_is_not_kept() -> None:
    # The signal says "look again", not what changed: a waiter looks at the database first.
    signal = ChangeSignal()
    signal.notify()
    assert asyncio.run(signal.wait(0.01)) is False


def test_subscribers_are_called_and_one_failing_stops_no_other() -> None:
    signal = ChangeSignal()
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("router gone")

    signal.subscribe(broken)
    signal.subscribe(lambda: calls.append("router"))
    signal.notify()
    assert calls == ["router"]
    signal.unsubscribe(broken)
    signal.unsubscribe(broken)  # twice is harmless
    signal.notify()
    assert calls == ["router", "router"]
