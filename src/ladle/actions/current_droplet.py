"""Making a droplet an app's current droplet, and the processes that follow from it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, record_app_event
from ladle.actions.processes import new_process
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.deployments import is_deploying
from ladle.db.models import App, Droplet, Process
from ladle.db.states.droplet import DropletState
from ladle.errors import CFError

__all__ = ["assign_current_droplet", "set_current_droplet"]

UNASSIGNABLE = "Unable to assign current droplet. Ensure the droplet exists and belongs to this app."
DEPLOYING = (
    "Unable to assign current droplet while the app has a deployment in progress. "
    "Wait for the deployment to complete or cancel it."
)


def set_current_droplet(session: Session, settings: Settings, app: App, droplet_guid: str | None) -> Droplet:
    """Set the app's droplet and give it a process for every type the droplet declares, in the
    caller's transaction (a deployment does this together with the rest of its work).

    Existing processes keep their guid and settings (web's guid is the app's); new types start
    with 0 instances, as in Cloud Controller.
    """
    droplet = session.scalar(select(Droplet).where(Droplet.guid == (droplet_guid or ""), Droplet.app_guid == app.guid))
    if droplet is None:
        raise CFError("UnprocessableEntity", UNASSIGNABLE)
    if droplet.state != DropletState.STAGED:
        raise CFError("UnprocessableEntity", "droplet must be in staged state")
    if droplet.process_types is None:
        raise CFError(
            "UnprocessableEntity",
            "Unable to create process types for this app's droplet. Please provide a droplet with valid process types.",
        )
    app.droplet_guid = droplet.guid
    app.updated_at = utcnow()
    existing = set(session.scalars(select(Process.type).where(Process.app_guid == app.guid)))
    for process_type in droplet.process_types:
        if str(process_type) not in existing:
            guid = app.guid if process_type == "web" else None
            session.add(new_process(settings, app, str(process_type), guid=guid))
    return droplet


def assign_current_droplet(
    session: Session, settings: Settings, app: App, droplet_guid: str | None, actor: Actor | None = None
) -> Droplet:
    """:func:`set_current_droplet` on its own, all or nothing: a failure changes nothing.

    Not while a deployment rolls the app forward: it owns the droplet until it is done.
    """
    if is_deploying(session, app.guid):
        raise CFError("UnprocessableEntity", DEPLOYING)
    droplet = set_current_droplet(session, settings, app, droplet_guid)
    record_app_event(session, "audit.app.droplet.mapped", actor, app, {"request": {"droplet_guid": droplet_guid}})
    try:
        session.commit()
    except IntegrityError:
        # Another request added the same process type at the same moment.
        session.rollback()
        raise CFError("UnprocessableEntity", "The app's processes changed during the assignment; try again.") from None
    return droplet
