"""What runs background work, and the shape of one kind of job.

An :class:`Executor` is handed job guids after the row that describes the job has been
committed. The in-process executor runs them on threads of the server; a distributed one hands
them to separate worker processes. Either way the job's state lives in its DB row, so
``/v3/jobs/:guid`` reads the same whichever runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.session import Database

__all__ = ["Executor", "JobContext", "JobKind", "PeriodicTask"]


@dataclass
class JobContext:
    guid: str
    operation: str
    resource_guid: str | None
    payload: dict[str, Any]
    db: Database
    settings: Settings
    blobstores: Blobstores
    warnings: list[str] = field(default_factory=list)
    # Hands a job this one committed to a worker now (without it, the sweep finds it later).
    submit: Callable[[str], None] = field(default=lambda _guid: None)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@dataclass(frozen=True)
class JobKind:
    """One operation a job can perform (``app.delete``, ``package.upload``, ...)."""

    operation: str
    run: Callable[[JobContext], None]
    # How many times the job may be started in all. A job found abandoned (its worker died)
    # with attempts left is started again; otherwise it fails and ``on_abandoned`` tidies up.
    max_attempts: int = 1
    on_failure: Callable[[JobContext, str], None] | None = None


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping that runs every ``interval`` seconds (sweeps, pruning). It must be idempotent:
    with several servers, each runs it."""

    name: str
    interval: float
    run: Callable[[], object]


class Executor(Protocol):
    def start(self) -> None: ...

    def submit(self, job_guid: str) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...
