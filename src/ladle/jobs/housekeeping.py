"""Housekeeping on one thread, whichever executor runs the jobs: keep the leases of the jobs this
node's runner is running alive, hand jobs nobody runs to the executor, and run periodic tasks.

Every process that runs jobs runs one. With several nodes each renews its own leases, all of
them sweep (a job is claimed by one runner only) and all run the periodic tasks, which are
idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from ladle.jobs.executor import Executor, PeriodicTask
from ladle.jobs.runner import LEASE_SECONDS, JobRunner

__all__ = ["Housekeeping"]

log = logging.getLogger("ladle.jobs")


class Housekeeping:
    def __init__(
        self,
        runner: JobRunner,
        executor: Executor,
        periodic: Sequence[PeriodicTask] = (),
        *,
        sweep_interval: float = 10.0,
    ) -> None:
        self.runner = runner
        self.executor = executor
        self.periodic = list(periodic)
        self.sweep_interval = sweep_interval
        # Renewing three times per lease lets two renewals fail before a lease runs out.
        self.tick_interval = min(LEASE_SECONDS / 3, sweep_interval)
        self._last_run: dict[str, float] = {}
        self._last_sweep = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Resume the jobs this node left behind, then keep house every few seconds."""
        for guid in self.runner.abandoned(at_startup=True):
            log.info("resuming abandoned job", extra={"job": guid})
            self.executor.submit(guid)
        self._last_sweep = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="ladle-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_interval):
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        """One round: renew leases, sweep when due, run the periodic tasks that are due."""
        try:
            self.runner.renew_leases()
            if now - self._last_sweep >= self.sweep_interval:
                self._last_sweep = now
                for guid in self.runner.abandoned(at_startup=False):
                    self.executor.submit(guid)
        except Exception:
            log.exception("job housekeeping failed")
        for task in self.periodic:
            if now - self._last_run.setdefault(task.name, now) < task.interval:
                continue
            self._last_run[task.name] = now
            try:
                task.run()
            except Exception:
                log.exception("periodic task failed", extra={"task": task.name})
