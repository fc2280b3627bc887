"""Droplets made outside staging: created empty to be uploaded; updates and deletion.

A droplet is STAGED only once its blob is whole in the store, and every change of state is a
conditional move from the state the writer expects (``ladle.db.states.droplet``), so a delete
racing an upload or a copy never leaves a row pointing at a missing or partial blob.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.lookup import by_guid
from ladle.db.models import App, Droplet, Job
from ladle.db.states.droplet import DropletState
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.droplet import DropletCreate, DropletUpdate

__all__ = ["create_droplet", "request_droplet_delete", "run_droplet_delete", "update_droplet"]


def create_droplet(session: Session, app: App, msg: DropletCreate) -> Droplet:
    if app.lifecycle_type != "buildpack":
        raise CFError("UnprocessableEntity", "Droplet creation is not available for apps with docker lifecycles.")
    droplet = Droplet(
        app_guid=app.guid,
        state=DropletState.AWAITING_UPLOAD,
        lifecycle_type="buildpack",
        process_types=msg.process_types if msg.process_types is not None else {"web": ""},
        execution_metadata="",
        buildpack_receipts=[],
    )
    session.add(droplet)
    session.commit()
    return droplet


def update_droplet(session: Session, settings: Settings, droplet: Droplet, msg: DropletUpdate) -> Droplet:
    if msg.has_image:
        if droplet.state != DropletState.STAGED:
            raise CFError("UnprocessableEntity", "Droplet image can only be updated on staged droplets")
        if droplet.lifecycle_type != "docker":
            raise CFError("UnprocessableEntity", "Images can only be updated for docker droplets")
        droplet.image = msg.image
    apply_metadata(session, settings, "droplet", droplet.guid, msg.metadata)
    droplet.updated_at = utcnow()
    session.commit()
    return droplet


def request_droplet_delete(session: Session, executor: Executor, droplet: Droplet, user_guid: str) -> Job:
    current = session.scalar(select(App.guid).where(App.droplet_guid == droplet.guid))
    if current is not None:
        raise CFError("UnprocessableEntity", f'The droplet is currently used by app with guid "{current}".')
    job = add_job(session, "droplet.delete", resource_type="droplet", resource_guid=droplet.guid, user_guid=user_guid)
    return start_job(session, executor, job)


def run_droplet_delete(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        droplet = by_guid(s, Droplet, guid)
        if droplet is not None:
            if s.scalar(select(App.guid).where(App.droplet_guid == guid)) is not None:
                # Made current after the request was accepted: keep it, the app needs it.
                raise CFError("UnprocessableEntity", "The droplet became an app's current droplet; it was kept.")
            delete_metadata(s, "droplet", [guid])
            s.delete(droplet)
            s.commit()
    # The row first: a crash in between leaves an orphan blob for the sweep, never a dangling row.
    ctx.blobstores.droplets.delete(guid)
