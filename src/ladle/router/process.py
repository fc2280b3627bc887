"""The router in a process of its own, next to ``ladle serve``'s API process.

A process of its own keeps the data plane off the API's event loop and GIL. It dies with the
process that started it (a parent-death signal), so a killed server never leaves a router
holding its port.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.process import BaseProcess

import httpx

from ladle.config import Settings
from ladle.router.status import STATUS_HOST
from ladle.sandbox.parent_death import die_with_parent

__all__ = ["RouterProcess", "start_router_process"]

log = logging.getLogger("ladle.router")


def _run(settings: Settings, parent_pid: int) -> None:
    if not die_with_parent(parent_pid, signal.SIGTERM):
        log.warning("could not ask to die with the server: the router may outlive a killed server")
    from ladle.db.session import Database
    from ladle.logs import configure_logging
    from ladle.router.access_log import AccessLogPipe
    from ladle.router.database import DatabaseRouteSource, database_access_log
    from ladle.router.server import serve

    configure_logging(settings.log_level, settings.log_format)
    db = Database(settings.effective_database_url)
    try:
        # The access log is written by a process of its own, off the data plane's GIL.
        serve(settings, DatabaseRouteSource(db), access_log=AccessLogPipe(partial(database_access_log, settings)))
    finally:
        db.dispose()


@dataclass
class RouterProcess:
    process: BaseProcess
    url: str
    # Pokes come from several threads (the runner's, jobs', requests'), and stop from another: one
    # at a time looks at the process and signals or reaps it, so none signals a reaped pid.
    _poking: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until the router answers its status and has applied its first table (False if it did
        not in time, or died: the log then says why)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline and self.process.is_alive():
                try:
                    response = client.get(f"{self.url}/status", headers={"Host": STATUS_HOST})
                    if response.status_code == 200 and int(response.json().get("applied_version", 0)) >= 1:
                        return True
                except (httpx.TransportError, ValueError):
                    pass
                time.sleep(0.05)
        return False

    def poke(self) -> None:
        """Ask the router to re-read its table now (SIGUSR1), as when an instance started.

        Only once ``wait_ready`` said yes: the handler is in place before the router answers, and
        SIGUSR1's default action would end it. The process is this one's child, so its pid cannot
        be another's until ``is_alive`` has reaped it."""
        with self._poking:
            if self.process.is_alive() and self.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGUSR1)

    def stop(self, timeout: float = 10.0) -> None:
        with self._poking:  # a poke in flight waits, then finds the process gone
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout)


def start_router_process(settings: Settings) -> RouterProcess:
    # "spawn": a fresh interpreter, not a fork of a server that already runs threads.
    process = multiprocessing.get_context("spawn").Process(
        target=_run, args=(settings, os.getpid()), name="ladle-router"
    )
    process.start()
    return RouterProcess(process, f"http://{settings.router_host}:{settings.router_port}")
