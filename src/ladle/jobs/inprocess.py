"""The in-process executor: a pool of worker threads inside the server process.

It also keeps the leases of running jobs alive and, every few seconds, picks up jobs that
nobody runs (left over from a stopped server, or lost between commit and hand-over).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ladle.jobs.executor import PeriodicTask
from ladle.jobs.runner import LEASE_SECONDS, JobRunner

__all__ = ["InProcessExecutor"]

log = logging.getLogger("ladle.jobs")


class InProcessExecutor:
    def __init__(
        self,
        runner: JobRunner,
        workers: int,
        sweep_interval: float = 10.0,
        periodic: list[PeriodicTask] | None = None,
    ) -> None:
        self.runner = runner
        runner.submit = self._submit_if_running
        self.periodic = list(periodic or [])
        self._last_run: dict[str, float] = {}
        self.workers = workers
        self.sweep_interval = sweep_interval
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ladle-job")
        for guid in self.runner.abandoned(at_startup=True):
            log.info("resuming abandoned job", extra={"job": guid})
            self.submit(guid)
        self._housekeeper = threading.Thread(target=self._housekeep, name="ladle-job-lease", daemon=True)
        self._housekeeper.start()

    def submit(self, job_guid: str) -> None:
        if self._pool is None:
            raise RuntimeError("executor not started")
        with self._lock:
            if job_guid in self._in_flight:
                return
            self._in_flight.add(job_guid)
        self._pool.submit(self._run, job_guid)

    def _submit_if_running(self, job_guid: str) -> None:
        # Before start (during recovery) the sweep of unclaimed jobs picks it up a little later.
        if self._pool is not None:
            self.submit(job_guid)

    def _run(self, job_guid: str) -> None:
        try:
            self.runner.run(job_guid)
        except Exception:
            log.exception("job runner failed", extra={"job": job_guid})
        finally:
            with self._lock:
                self._in_flight.discard(job_guid)

    def _housekeep(self) -> None:
        renew_every = LEASE_SECONDS / 3
        since_sweep = 0.0
        while not self._stop.wait(min(renew_every, self.sweep_interval)):
            with self._lock:
                running = list(self._in_flight)
            try:
                self.runner.renew(running)
                since_sweep += min(renew_every, self.sweep_interval)
                if since_sweep >= self.sweep_interval:
                    since_sweep = 0.0
                    for guid in self.runner.abandoned(at_startup=False):
                        self.submit(guid)
            except Exception:
                log.exception("job housekeeping failed")
            self._run_periodic()

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for task in self.periodic:
            last = self._last_run.setdefault(task.name, now)
            if now - last < task.interval:
                continue
            self._last_run[task.name] = now
            try:
                task.run()
            except Exception:
                log.exception("periodic task failed", extra={"task": task.name})

    def idle(self) -> bool:
        with self._lock:
            return not self._in_flight

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
