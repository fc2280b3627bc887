"""Queries over tasks."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Droplet, Space, Task
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["next_sequence_id", "task_droplets", "tasks_page"]


def next_sequence_id(session: Session, app_guid: str) -> int:
    """The app's next task number (from 1). Two creates may read the same one; the unique key
    on (app, sequence) makes the slower one fail and try again."""
    highest = session.scalar(select(func.max(Task.sequence_id)).where(Task.app_guid == app_guid))
    return (highest or 0) + 1


def tasks_page(session: Session, perms: Permissions, params: ListParams, app_guid: str | None = None) -> Page[Task]:
    stmt = readable(select(Task).join(App, App.guid == Task.app_guid), perms, App.space_guid)
    if app_guid is not None:
        stmt = stmt.where(Task.app_guid == app_guid)
    stmt = filter_common(stmt, Task, params, "task")
    arrays = params.arrays
    if "names" in arrays:
        stmt = stmt.where(Task.name.in_(arrays["names"]))
    if "states" in arrays:
        stmt = stmt.where(Task.state.in_(arrays["states"]))
    if "app_guids" in arrays:
        stmt = stmt.where(Task.app_guid.in_(arrays["app_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(App.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        stmt = stmt.where(
            App.space_guid.in_(select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"])))
        )
    if "sequence_ids" in arrays:
        # Values that are not numbers match no task (the column is an integer).
        numbers = [int(v) for v in arrays["sequence_ids"] if v.strip().lstrip("+-").isdigit()]
        stmt = stmt.where(Task.sequence_id.in_(numbers))
    return paginate(session, stmt, Task, params)


def task_droplets(session: Session, tasks: list[Task]) -> dict[str, Droplet]:
    """The droplets the tasks run, by guid (a deleted droplet is simply absent)."""
    guids = {t.droplet_guid for t in tasks}
    if not guids:
        return {}
    return {d.guid: d for d in session.scalars(select(Droplet).where(Droplet.guid.in_(guids)))}
