"""Starting and stopping an app: the desired state of the app and of all its processes.

Ladle stages and stores; it does not run instances. Start and stop record what the user asked
for, with Cloud Controller's preconditions, so clients that push and start apps work through.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ladle.actions.app_create import check_lifecycle_flags
from ladle.auth.identity import Identity
from ladle.clock import utcnow
from ladle.db.models import App, Process
from ladle.errors import CFError

__all__ = ["set_app_state"]


def set_app_state(session: Session, app: App, state: str, identity: Identity) -> App:
    if state == "STARTED":
        if app.droplet_guid is None:
            raise CFError("UnprocessableEntity", "Assign a droplet before starting this app.")
        check_lifecycle_flags(session, app.lifecycle_type, identity)
    now = utcnow()
    app.state, app.updated_at = state, now
    session.execute(
        update(Process)
        .where(Process.app_guid == app.guid)
        .values(state=state, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return app
