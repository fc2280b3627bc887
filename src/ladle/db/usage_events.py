"""App usage events (``/v3/app_usage_events``): what billing and metering tools read.

As Cloud Controller does from its process model's hooks, a process records STARTED or STOPPED
whenever it starts or stops, and STARTED again when a started process changes its instance count
or memory; :func:`watch_process_usage` sees every such change made through the ORM, before the
session flushes it, so no writer can forget. What the ORM does not see is recorded by its
writer: an app's processes deleted with it (:func:`record_processes_stopped`), tasks starting and
ending (:func:`record_task_usage`) and a staged droplet's buildpack (:func:`record_buildpack_set`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, AppUsageEvent, Droplet, Organization, Process, Space, Task
from ladle.messages.lists import ListParams

__all__ = [
    "app_usage_event",
    "app_usage_events_page",
    "record_buildpack_set",
    "record_processes_stopped",
    "record_task_usage",
    "watch_process_usage",
]


def _app_context(session: Session, app_guid: str) -> dict[str, Any]:
    with session.no_autoflush:
        row = session.execute(
            select(App.name, Space.guid, Space.name, Organization.guid)
            .join(Space, Space.guid == App.space_guid)
            .join(Organization, Organization.guid == Space.organization_guid)
            .where(App.guid == app_guid)
        ).first()
    if row is None:
        return {"app_guid": app_guid}
    app_name, space_guid, space_name, org_guid = row
    return {
        "app_guid": app_guid,
        "app_name": app_name,
        "space_guid": space_guid,
        "space_name": space_name,
        "organization_guid": org_guid,
    }


def _previous(process: Process, attribute: str) -> Any:
    history = inspect(process).attrs[attribute].history
    if history.deleted:
        return history.deleted[0]
    return getattr(process, attribute)


def _process_event(session: Session, process: Process, state: str, *, new: bool) -> AppUsageEvent:
    previous_state = None if new else _previous(process, "state")
    return AppUsageEvent(
        state=state,
        previous_state=previous_state,
        process_guid=process.guid,
        process_type=process.type,
        memory_in_mb_per_instance=process.memory_in_mb,
        previous_memory_in_mb_per_instance=None if new else _previous(process, "memory_in_mb"),
        instance_count=process.instances,
        previous_instance_count=None if new else _previous(process, "instances"),
        **_app_context(session, process.app_guid),
    )


def watch_process_usage(session: Session, _context: object, _instances: object) -> None:
    """``before_flush``: an event for each process whose usage the flush is about to change."""
    events: list[AppUsageEvent] = []
    for obj in session.new:
        if isinstance(obj, Process) and obj.state == "STARTED":
            events.append(_process_event(session, obj, "STARTED", new=True))
    for obj in session.dirty:
        if not isinstance(obj, Process) or not session.is_modified(obj):
            continue
        was_started = _previous(obj, "state") == "STARTED"
        started = obj.state == "STARTED"
        resized = any(inspect(obj).attrs[a].history.has_changes() for a in ("instances", "memory_in_mb"))
        if was_started != started or (started and resized):
            events.append(_process_event(session, obj, "STARTED" if started else "STOPPED", new=False))
    session.add_all(events)


def record_processes_stopped(session: Session, app_guid: str) -> None:
    """STOPPED for each started process of an app about to be deleted (with a bulk delete)."""
    context = _app_context(session, app_guid)
    for process in session.scalars(select(Process).where(Process.app_guid == app_guid, Process.state == "STARTED")):
        session.add(
            AppUsageEvent(
                state="STOPPED",
                previous_state="STARTED",
                process_guid=process.guid,
                process_type=process.type,
                memory_in_mb_per_instance=process.memory_in_mb,
                previous_memory_in_mb_per_instance=process.memory_in_mb,
                instance_count=process.instances,
                previous_instance_count=process.instances,
                **context,
            )
        )


def record_task_usage(session: Session, task_guid: str, state: str) -> None:
    """TASK_STARTED or TASK_STOPPED for a task (the caller commits)."""
    task = session.scalar(select(Task).where(Task.guid == task_guid))
    if task is None:
        return
    session.add(
        AppUsageEvent(
            state=state,
            previous_state="RUNNING" if state == "TASK_STOPPED" else None,
            task_guid=task.guid,
            task_name=task.name,
            memory_in_mb_per_instance=task.memory_in_mb,
            instance_count=1,
            **_app_context(session, task.app_guid),
        )
    )


def record_buildpack_set(session: Session, build_guid: str) -> None:
    """BUILDPACK_SET when a build's droplet is staged with buildpacks (the final one counts)."""
    row = session.execute(
        select(Droplet.app_guid, Droplet.lifecycle_type, Droplet.buildpack_receipts).where(
            Droplet.build_guid == build_guid
        )
    ).first()
    if row is None or row.lifecycle_type != "buildpack":
        return
    receipts = row.buildpack_receipts or []
    final = receipts[-1] if receipts else {}
    session.add(
        AppUsageEvent(
            state="BUILDPACK_SET",
            buildpack_name=final.get("name"),
            buildpack_guid=None,
            **_app_context(session, row.app_guid),
        )
    )


def app_usage_events_page(session: Session, params: ListParams, after: AppUsageEvent | None) -> Page[AppUsageEvent]:
    stmt = filter_common(select(AppUsageEvent), AppUsageEvent, params, None)
    if after is not None:
        stmt = stmt.where(AppUsageEvent.id > after.id)
    return paginate(session, stmt, AppUsageEvent, params, ties_by_id=True)


def app_usage_event(session: Session, guid: str) -> AppUsageEvent | None:
    return session.scalar(select(AppUsageEvent).where(AppUsageEvent.guid == guid))
