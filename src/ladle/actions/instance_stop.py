"""Stopping one instance of a process (``DELETE .../instances/:index``); the runner starts a
new one in its place, as Diego does after Cloud Controller stops an index."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.process_update import process_event_data
from ladle.db.models import Instance, Process
from ladle.errors import CFError

__all__ = ["stop_instance"]


def stop_instance(session: Session, process: Process, index: int, change: AppChange) -> None:
    # Only the desired range counts: an index with no instance reported yet is still a slot.
    if not 0 <= index < process.instances:
        raise CFError("ResourceNotFound", "Instance not found")
    session.execute(
        update(Instance)
        .where(Instance.process_guid == process.guid, Instance.index == index)
        .values(stop_requested=True)
        .execution_options(synchronize_session=False)
    )
    change.record(session, "audit.app.process.terminate_instance", process_event_data(process, process_index=index))
    change.commit(session)
