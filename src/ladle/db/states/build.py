"""A build's states, and the two ways a staging ends: STAGED or FAILED, build and droplet together.

A build is created STAGING with its droplet. :func:`stage_build` is the only code that makes a
build STAGED and :func:`fail_build` the only code that fails one; both move from STAGING only,
so a cancel and a stager finishing at the same moment cannot both win.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.db.models import App, Build, Droplet
from ladle.db.session import Database
from ladle.db.states.droplet import MACHINE as DROPLETS
from ladle.db.states.droplet import DropletState
from ladle.db.states.machine import StateMachine

__all__ = ["BuildState", "fail_build", "stage_build"]


class BuildState(StrEnum):
    STAGING = "STAGING"
    STAGED = "STAGED"
    FAILED = "FAILED"


MACHINE = StateMachine(
    Build,
    {BuildState.STAGING: frozenset({BuildState.STAGED, BuildState.FAILED})},
)


def stage_build(session: Session, build_guid: str, *, make_current: bool, **droplet: Any) -> bool:
    """Mark the build and its droplet STAGED (the droplet gets ``droplet`` values: process types,
    checksums, image...); False if the build was no longer STAGING. With ``make_current`` the
    droplet also becomes its app's current droplet, as an external builder's verdict does in
    Cloud Controller. The caller commits, after the droplet's blob is stored."""
    droplet_guid = session.scalar(select(Droplet.guid).where(Droplet.build_guid == build_guid))
    if droplet_guid is None:
        return False
    if not MACHINE.move(session, build_guid, BuildState.STAGING, BuildState.STAGED, droplet_guid=droplet_guid):
        return False
    DROPLETS.move(session, droplet_guid, DropletState.STAGING, DropletState.STAGED, **droplet)
    if make_current:
        session.execute(
            update(App)
            .where(App.guid == select(Build.app_guid).where(Build.guid == build_guid).scalar_subquery())
            .values(droplet_guid=droplet_guid)
            .execution_options(synchronize_session=False)
        )
    return True


def fail_build(db: Database, build_guid: str, error_id: str, description: str) -> bool:
    """Move a STAGING build and its droplet to FAILED, and commit; False if it was no longer
    staging. A running stager polls the build's state and stops when it sees this."""
    with db.session() as s:
        failed = MACHINE.move(
            s, build_guid, BuildState.STAGING, BuildState.FAILED, error_id=error_id, error_description=description
        )
        DROPLETS.move_where(
            s,
            Droplet.build_guid == build_guid,
            DropletState.STAGING,
            DropletState.FAILED,
            error_id=error_id,
            error_description=description,
        )
        s.commit()
    return failed
