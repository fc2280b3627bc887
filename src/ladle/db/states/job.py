"""A job's states: PROCESSING until its runner records COMPLETE or FAILED.

Claiming a job (a lease) and renewing it are not moves: the job stays PROCESSING, and
``ladle.jobs.runner`` owns those updates.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ladle.db.models import Job
from ladle.db.states.machine import StateMachine

__all__ = ["JobState", "move_job"]


class JobState(StrEnum):
    PROCESSING = "PROCESSING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


MACHINE = StateMachine(
    Job,
    {JobState.PROCESSING: frozenset({JobState.COMPLETE, JobState.FAILED})},
)


def move_job(session: Session, guid: str, expected: JobState, state: JobState, **values: Any) -> bool:
    return MACHINE.move(session, guid, expected, state, **values)
