"""Starting background work: insert the job row, commit, then hand it to the executor."""

from __future__ import annotations

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


def start_job(session: Session, executor: Executor, job: Job) -> Job:
    """Commit (so a worker can see the row) and only then hand the job over."""
    session.commit()
    executor.submit(job.guid)
    return job
