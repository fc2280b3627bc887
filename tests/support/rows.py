"""Rows written straight to a server's database, for states the API reaches only in passing."""

from __future__ import annotations

from ladle.db.models import Build, Droplet
from ladle.db.session import Database
from ladle.db.states.build import BuildState
from ladle.db.states.droplet import DropletState

__all__ = ["staging_build"]


def staging_build(db: Database, app_guid: str) -> tuple[str, str]:
    """A build and its droplet as a staging in progress leaves them (both STAGING): their guids."""
    with db.session() as s:
        build = Build(
            app_guid=app_guid,
            state=BuildState.STAGING,
            staging_memory_in_mb=1024,
            staging_disk_in_mb=1024,
            lifecycle_type="buildpack",
        )
        s.add(build)
        s.flush()
        droplet = Droplet(
            app_guid=app_guid,
            build_guid=build.guid,
            state=DropletState.STAGING,
            lifecycle_type="buildpack",
            buildpack_receipts=[],
            execution_metadata="",
        )
        s.add(droplet)
        s.commit()
        return str(build.guid), str(droplet.guid)
