"""Creating a task: a one-off command from an app's droplet, handed to the runner as RUNNING.

Cloud Controller submits the task to Diego inside the request and answers with it RUNNING.
Ladle's runner finds its work in the database instead: a RUNNING task no node has taken
(``node`` NULL) is waiting to be started.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.audit import PRIVATE_DATA_HIDDEN
from ladle.actions.metadata_update import apply_metadata
from ladle.actions.process_rules import user_error
from ladle.actions.quota_checks import check_task_quotas
from ladle.config import Settings
from ladle.db.lookup import by_guid
from ladle.db.models import App, Droplet, Process, Task
from ladle.db.processes import process_contexts
from ladle.db.tasks import next_sequence_id
from ladle.db.usage_events import record_task_usage
from ladle.errors import CFError
from ladle.messages.task_create import TaskCreate

__all__ = ["create_task", "task_droplet", "task_event_data"]

MAX_COMMAND = 4096
NO_DROPLET = "Task must have a droplet. Specify droplet or assign current droplet to app."
# Attempts at a sequence number when concurrent creates keep taking the one read.
SEQUENCE_ATTEMPTS = 20


def task_event_data(task: Task) -> dict[str, Any]:
    """What ``audit.app.task.create`` and ``.cancel`` record (the command stays hidden)."""
    return {
        "task_guid": task.guid,
        "request": {"name": task.name, "memory_in_mb": task.memory_in_mb, "command": PRIVATE_DATA_HIDDEN},
    }


def task_droplet(session: Session, app: App, droplet_guid: str | None) -> Droplet | None:
    """The droplet a task runs: the one named (it must be the app's), else the current one."""
    if droplet_guid is None:
        return by_guid(session, Droplet, app.droplet_guid) if app.droplet_guid else None
    droplet = session.scalar(select(Droplet).where(Droplet.guid == droplet_guid, Droplet.app_guid == app.guid))
    if droplet is None:
        raise CFError("ResourceNotFound", "Droplet not found")
    return droplet


def _template(session: Session, msg: TaskCreate) -> Process | None:
    if "template" not in msg.requested:
        return None
    process = by_guid(session, Process, msg.template_process_guid or "")
    if process is None:
        raise CFError("ProcessNotFound", msg.template_process_guid)
    return process


def _command(session: Session, msg: TaskCreate, template: Process | None) -> str | None:
    if "command" in msg.requested:
        command = msg.command
        # The column is text: Sequel stores a number as its digits; anything else is no command.
        if isinstance(command, bool) or not isinstance(command, str | int | float):
            return None
        return str(command)
    if template is None:
        return None
    if template.command is not None:
        return template.command
    detected = process_contexts(session, {template.app_guid})[template.app_guid].detected_commands
    return detected.get(template.type)


def _model_errors(name: str, command: str | None, user: str | None) -> list[str]:
    """Cloud Controller's task model checks, in Sequel's wording (grouped by column, in order)."""
    problems = []
    if name == "" or not name.isprintable():
        problems.append("name is invalid")
    if name == "":
        problems.append("name is not present")
    if not command:
        problems.append("command is not present")
    elif len(command) > MAX_COMMAND:
        problems.append(f"command must be shorter than {MAX_COMMAND + 1} characters")
    if message := user_error(user):
        problems.append(message)
    return problems


def _new_task(session: Session, settings: Settings, app: App, droplet: Droplet, msg: TaskCreate) -> Task:
    template = _template(session, msg)
    name = msg.name if "name" in msg.requested else secrets.token_hex(4)
    name = "" if name is None else str(name)
    command = _command(session, msg, template)
    user = msg.user if "user" in msg.requested else (template.user if template else None)
    if problems := _model_errors(name, command, user):
        raise CFError("UnprocessableEntity", problems)
    assert command is not None
    return Task(
        app_guid=app.guid,
        name=name,
        command=command,
        user=user,
        state="RUNNING",
        memory_in_mb=msg.memory_in_mb or (template.memory_in_mb if template else settings.default_app_memory_mb),
        disk_in_mb=msg.disk_in_mb or (template.disk_in_mb if template else settings.default_app_disk_mb),
        log_rate_limit=msg.log_rate_limit
        if msg.log_rate_limit is not None
        else (template.log_rate_limit if template else settings.default_app_log_rate_limit),
        droplet_guid=droplet.guid,
    )


def create_task(session: Session, settings: Settings, msg: TaskCreate, change: AppChange) -> Task:
    app = change.app
    droplet = task_droplet(session, app, msg.droplet_guid)
    if droplet is None:
        raise CFError("UnprocessableEntity", NO_DROPLET)
    if msg.disk_in_mb is not None and msg.disk_in_mb > settings.max_app_disk_mb:
        raise CFError("UnprocessableEntity", f"Cannot request disk_in_mb greater than {settings.max_app_disk_mb}")
    check_task_quotas(session, app.space_guid)
    task = _new_task(session, settings, app, droplet, msg)
    for _ in range(SEQUENCE_ATTEMPTS):
        task.sequence_id = next_sequence_id(session, app.guid)
        session.add(task)
        try:
            session.flush()
            break
        except IntegrityError:
            # Another create took this number first: start over with a fresh read.
            session.rollback()
            task = _new_task(session, settings, app, droplet, msg)
    else:
        raise CFError("UnprocessableEntity", "Too many tasks were created at once for this app; try again.")
    apply_metadata(session, settings, "task", task.guid, msg.metadata)
    change.record(session, "audit.app.task.create", task_event_data(task))
    record_task_usage(session, task.guid, "TASK_STARTED")
    change.commit(session)
    return task
