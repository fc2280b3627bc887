"""Starting, stopping and restarting an app: the desired state of the app and of its processes.

A runner acts on it: it runs the instances of STARTED processes and stops the others. Each
process's ``version`` names one generation of instances. As in Cloud Controller, a process
gets a new version whenever it goes from STOPPED to STARTED, so a restart (stop, then start)
replaces every instance, and starting an app after its droplet changed runs the new droplet.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.app_create import check_lifecycle_flags
from ladle.actions.quota_checks import Footprint, check_process_quotas
from ladle.auth.identity import Identity
from ladle.clock import new_guid, utcnow
from ladle.db.models import App, Process
from ladle.errors import CFError

__all__ = ["move_processes", "restart_app", "set_app_state"]

NO_DROPLET = "Assign a droplet before starting this app."


def move_processes(session: Session, app: App, state: str) -> None:
    """The app and all its processes to ``state`` (in the caller's transaction); starting checks
    the quotas of the app's org and space for each process."""
    now = utcnow()
    for process in session.scalars(select(Process).where(Process.app_guid == app.guid)).all():
        if state == "STARTED" and process.state != "STARTED":
            process.version = new_guid()
            process.state = state
            check_process_quotas(session, process, Footprint())
            # Written at once, so the next process's check counts this one (as each of Cloud
            # Controller's process saves does).
            session.flush()
        process.state, process.updated_at = state, now
    app.state, app.updated_at = state, now


def _check_startable(session: Session, app: App, identity: Identity) -> None:
    if app.droplet_guid is None:
        raise CFError("UnprocessableEntity", NO_DROPLET)
    check_lifecycle_flags(session, app.lifecycle_type, identity)


def set_app_state(session: Session, change: AppChange, state: str) -> App:
    app = change.app
    if state == "STARTED":
        _check_startable(session, app, change.identity)
    move_processes(session, app, state)
    change.record(session, "audit.app.start" if state == "STARTED" else "audit.app.stop")
    change.commit(session)
    return app


def restart_app(session: Session, change: AppChange) -> App:
    """Stop and start in one transaction: every process gets a new version, so the runner
    replaces each instance (a runner never sees the app stopped in between)."""
    app = change.app
    _check_startable(session, app, change.identity)
    move_processes(session, app, "STOPPED")
    # Flushed in between so billing sees the restart as Cloud Controller reports it: STOPPED,
    # then STARTED (db/usage_events.py watches each flush).
    session.flush()
    move_processes(session, app, "STARTED")
    change.record(session, "audit.app.restart")
    change.commit(session)
    return app
