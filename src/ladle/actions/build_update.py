"""Changing a build after it started: metadata, an external builder's verdict, or a cancel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.metadata_update import apply_metadata
from ladle.config import Settings
from ladle.db.models import Build
from ladle.db.session import Database
from ladle.db.states.build import BuildState, fail_build, stage_build
from ladle.errors import CFError
from ladle.messages.build_update import BuildUpdate

__all__ = ["cancel_build", "update_build"]


def update_build(session: Session, db: Database, settings: Settings, build: Build, msg: BuildUpdate) -> None:
    apply_metadata(session, settings, "build", build.guid, msg.metadata)
    session.commit()
    if msg.state == BuildState.FAILED:
        fail_build(db, build.guid, "StagerError", CFError("StagerError", msg.error or "").detail)
    elif msg.state == BuildState.STAGED:
        _staged_by_external_builder(session, build, msg)
    session.refresh(build)


def _staged_by_external_builder(session: Session, build: Build, msg: BuildUpdate) -> None:
    """An external builder finished: the droplet gets its image, and becomes the app's current one."""
    if not stage_build(session, build.guid, make_current=True, image=msg.image, process_types=msg.process_types):
        session.rollback()
        session.refresh(build)
        raise CFError("UnprocessableEntity", f"Build is {build.state} and cannot be marked STAGED")
    session.commit()


def cancel_build(db: Database, build: Build, by: str | None) -> None:
    """Ladle's cancel action: the staging processes are killed when the stager sees the build FAILED."""
    if build.state != BuildState.STAGING:
        raise CFError("UnprocessableEntity", "Only a build that is STAGING can be cancelled.")
    who = f" by {by}" if by else ""
    fail_build(db, build.guid, "StagingError", CFError("StagingError", f"staging was cancelled{who}").detail)
