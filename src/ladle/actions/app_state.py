"""Starting, stopping and restarting an app: the desired state of the app and of all its processes.

Ladle stages and stores; it does not run instances yet. Start, stop and restart record what the
user asked for, with Cloud Controller's preconditions, each in one transaction: a restart never
leaves the app STOPPED, even for a moment another request could see.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ladle.actions.app_create import check_lifecycle_flags
from ladle.auth.identity import Identity
from ladle.clock import utcnow
from ladle.db.models import App, Process
from ladle.errors import CFError

__all__ = ["restart_app", "start_app", "stop_app"]

STARTED = "STARTED"
STOPPED = "STOPPED"


def start_app(session: Session, app: App, identity: Identity) -> App:
    _check_startable(session, app, identity)
    return _commit_state(session, app, STARTED)


def stop_app(session: Session, app: App) -> App:
    return _commit_state(session, app, STOPPED)


def restart_app(session: Session, app: App, identity: Identity) -> App:
    """Stop, then start: one commit, checked before anything changes (a restart without a
    droplet leaves a started app started)."""
    _check_startable(session, app, identity)
    _set_state(session, app, STOPPED)
    return _commit_state(session, app, STARTED)


def _check_startable(session: Session, app: App, identity: Identity) -> None:
    if app.droplet_guid is None:
        raise CFError("UnprocessableEntity", "Assign a droplet before starting this app.")
    check_lifecycle_flags(session, app.lifecycle_type, identity)


def _set_state(session: Session, app: App, state: str) -> None:
    now = utcnow()
    app.state, app.updated_at = state, now
    session.execute(
        update(Process)
        .where(Process.app_guid == app.guid)
        .values(state=state, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _commit_state(session: Session, app: App, state: str) -> App:
    _set_state(session, app, state)
    session.commit()
    return app
