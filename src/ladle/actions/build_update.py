"""Changing a build after it started: metadata, an external builder's verdict, or a cancel."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import apply_metadata
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import App, Build, Droplet
from ladle.db.session import Database
from ladle.errors import CFError
from ladle.messages.build_update import BuildUpdate
from ladle.staging.stager import fail_build

__all__ = ["cancel_build", "update_build"]


def update_build(session: Session, db: Database, settings: Settings, build: Build, msg: BuildUpdate) -> None:
    apply_metadata(session, settings, "build", build.guid, msg.metadata)
    session.commit()
    if msg.state == "FAILED":
        fail_build(db, build.guid, "StagerError", CFError("StagerError", msg.error or "").detail)
    elif msg.state == "STAGED":
        _mark_staged(session, build, msg)
    session.refresh(build)


def _mark_staged(session: Session, build: Build, msg: BuildUpdate) -> None:
    """An external builder finished: the droplet gets its image, and becomes the app's current one."""
    if build.state != "STAGING":
        raise CFError("UnprocessableEntity", f"Build is {build.state} and cannot be marked STAGED")
    droplet = session.scalars(select(Droplet).where(Droplet.build_guid == build.guid)).one()
    now = utcnow()
    droplet.state, droplet.image, droplet.process_types, droplet.updated_at = (
        "STAGED",
        msg.image,
        msg.process_types,
        now,
    )
    build.state, build.droplet_guid, build.updated_at = "STAGED", droplet.guid, now
    session.execute(
        update(App)
        .where(App.guid == build.app_guid)
        .values(droplet_guid=droplet.guid)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def cancel_build(db: Database, build: Build, by: str | None) -> None:
    """Ladle's cancel action: the staging processes are killed when the stager sees the build FAILED."""
    if build.state != "STAGING":
        raise CFError("UnprocessableEntity", "Only a build that is STAGING can be cancelled.")
    who = f" by {by}" if by else ""
    fail_build(db, build.guid, "StagingError", CFError("StagingError", f"staging was cancelled{who}").detail)
