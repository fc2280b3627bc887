"""The in-process executor: a pool of worker threads inside this process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["InProcessExecutor"]

log = logging.getLogger("ladle.jobs")


class InProcessExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._run_job: Callable[[str], None] | None = None
        # Jobs submitted and not yet finished (or, before start, waiting for it).
        self._in_flight: set[str] = set()
        self._waiting: list[str] = []
        self._lock = threading.Lock()

    def start(self, run_job: Callable[[str], None]) -> None:
        with self._lock:
            self._run_job = run_job
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ladle-job")
            waiting, self._waiting = self._waiting, []
        for guid in waiting:
            self._pool.submit(self._run, guid)

    def submit(self, job_guid: str) -> None:
        with self._lock:
            if job_guid in self._in_flight:
                return
            self._in_flight.add(job_guid)
            if self._pool is None:
                self._waiting.append(job_guid)
                return
            pool = self._pool
        pool.submit(self._run, job_guid)

    def _run(self, job_guid: str) -> None:
        assert self._run_job is not None
        try:
            self._run_job(job_guid)
        except Exception:
            log.exception("job runner failed", extra={"job": job_guid})
        finally:
            with self._lock:
                self._in_flight.discard(job_guid)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
