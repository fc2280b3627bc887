"""What runs background work, and the shape of one kind of job.

An :class:`Executor` is handed job guids after the row that describes the job has been
committed, and runs each with the function it was started with (a :class:`~ladle.jobs.runner.JobRunner`'s
``run``). The in-process executor runs them on threads of this process; a distributed one hands
them to worker processes, each running its own runner. Either way the job's state lives in its
DB row, so ``/v3/jobs/:guid`` reads the same whichever runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.session import Database

__all__ = ["Executor", "JobContext", "JobKind", "PeriodicTask"]


class Executor(Protocol):
    def start(self, run_job: Callable[[str], None]) -> None:
        """Begin running submitted jobs, each with ``run_job(guid)``."""
        ...

    def submit(self, job_guid: str) -> None:
        """Hand over a job whose row is committed. Before :meth:`start` it waits for the start."""
        ...

    def shutdown(self, wait: bool = True) -> None: ...


@dataclass
class JobContext:
    guid: str
    operation: str
    resource_guid: str | None
    payload: dict[str, Any]
    db: Database
    settings: Settings
    blobstores: Blobstores
    # Hands a job this one committed to the executor now (without it, the sweep finds it later).
    submit: Callable[[str], None]


@dataclass(frozen=True)
class JobKind:
    """One operation a job can perform (``app.delete``, ``package.upload``, ...)."""

    operation: str
    run: Callable[[JobContext], None]
    # How many times the job may be started in all. A job found abandoned (its worker died)
    # with attempts left is started again; otherwise it fails and ``on_failure`` tidies up.
    max_attempts: int = 1
    on_failure: Callable[[JobContext, str], None] | None = None
    # Whether it can change what the router routes (apps, routes, destinations): when it ends,
    # this node's router is told to look again rather than at its next poll.
    routing: bool = False


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping that runs every ``interval`` seconds (sweeps, pruning), once per interval
    across the cluster (``Housekeeping`` takes its turn in the database). It must still be
    idempotent and must spare what another node may be writing."""

    name: str
    interval: float
    run: Callable[[], object]
