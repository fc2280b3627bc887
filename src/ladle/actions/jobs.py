"""Starting background work: insert the job row, commit, then hand it to the executor."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from ladle.db.models import Job
from ladle.db.states.job import JobState
from ladle.jobs.executor import Executor

__all__ = ["add_job", "start_job"]


def add_job(
    session: Session,
    operation: str,
    *,
    resource_type: str | None = None,
    resource_guid: str | None = None,
    payload: dict[str, Any] | None = None,
    user_guid: str | None = None,
) -> Job:
    """Add a PROCESSING job to the session; the caller commits it with its other changes."""
    job = Job(
        operation=operation,
        state=JobState.PROCESSING,
        resource_type=resource_type,
        resource_guid=resource_guid,
        payload=payload or {},
        user_guid=user_guid,
    )
    session.add(job)
    return job


def start_job(session: Session, executor: Executor, job: Job, *, refresh: Iterable[object] = ()) -> Job:
    """Commit (so a worker can see the row) and only then hand the job over.

    ``refresh`` rows are reloaded between the two: the caller answers with them as committed
    (a package PROCESSING_UPLOAD), not as a job that finished in the meantime left them."""
    session.commit()
    for row in refresh:
        session.refresh(row)
    executor.submit(job.guid)
    return job
