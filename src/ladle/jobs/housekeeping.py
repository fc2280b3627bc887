"""Housekeeping on one thread, whichever executor runs the jobs: keep the leases of the jobs this
node's runner is running alive, hand jobs nobody runs to the executor, and run periodic tasks.

Every process that runs jobs runs one. With several nodes each renews its own leases and all
of them sweep for lost jobs (a job is claimed by one runner only). A periodic task runs once per
interval across the cluster: given the database, a node runs it only when it takes the task's
turn (``db/housekeeping_locks.py``), so sweeps never run on every node at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

from ladle.db.housekeeping_locks import release_turn, take_turn
from ladle.db.session import Database
from ladle.jobs.executor import Executor, PeriodicTask
from ladle.jobs.runner import JobRunner

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
        cluster: Database | None = None,
    ) -> None:
        self.runner = runner
        self.executor = executor
        self.periodic = list(periodic)
        self.sweep_interval = sweep_interval
        # Where periodic tasks take their turns (None: this node runs every task itself).
        self.cluster = cluster
        # Renewing three times per lease lets two renewals fail before a lease runs out.
        self.tick_interval = min(runner.lease.total_seconds() / 3, sweep_interval)
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
            # Locally due: ask for the task's turn no more often than every 30 s (another node
            # may have run it meanwhile; the turn, not this clock, decides).
            if now - self._last_run.setdefault(task.name, now) < min(task.interval, 30.0):
                continue
            self._last_run[task.name] = now
            self._run_periodic(task)

    def _run_periodic(self, task: PeriodicTask) -> None:
        holder = self.runner.worker_id
        try:
            if self.cluster is not None and not take_turn(
                self.cluster,
                task.name,
                holder,
                interval=timedelta(seconds=task.interval),
                hold=timedelta(seconds=max(task.interval, 600)),
            ):
                return
        except Exception:
            log.exception("could not take a periodic task's turn", extra={"task": task.name})
            return
        try:
            task.run()
        except Exception:
            log.exception("periodic task failed", extra={"task": task.name})
        finally:
            if self.cluster is not None:
                try:
                    release_turn(self.cluster, task.name, holder)
                except Exception:
                    log.exception("could not release a periodic task's turn", extra={"task": task.name})
