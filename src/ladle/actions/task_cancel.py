"""Cancelling a task.

A task a runner has taken (``node`` set) moves to CANCELING; the runner stops it and records
how it ended (FAILED, ``task was cancelled``). A task no runner has taken yet has nothing to
stop, so it fails at once with that same reason. Both moves are conditional updates, so a
runner claiming the task at the same moment cannot be overwritten.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.task_create import task_event_data
from ladle.clock import utcnow
from ladle.db.models import Task
from ladle.db.usage_events import record_task_usage
from ladle.errors import CFError

__all__ = ["CANCELLED", "FINAL_STATES", "cancel_task"]

CANCELLED = "task was cancelled"
FINAL_STATES = ("SUCCEEDED", "FAILED")


def _move(session: Session, task: Task, *conditions: ColumnElement[bool], **values: object) -> bool:
    result = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state.not_in(FINAL_STATES), *conditions)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def cancel_task(session: Session, task: Task, change: AppChange) -> Task:
    untaken = _move(session, task, Task.node.is_(None), state="FAILED", failure_reason=CANCELLED)
    if not untaken and not _move(session, task, state="CANCELING"):
        session.rollback()
        session.refresh(task)
        raise CFError("UnprocessableEntity", f"Task state is {task.state} and therefore cannot be canceled")
    if untaken:
        record_task_usage(session, task.guid, "TASK_STOPPED")
    change.record(session, "audit.app.task.cancel", task_event_data(task))
    change.commit(session)
    session.refresh(task)
    return task
