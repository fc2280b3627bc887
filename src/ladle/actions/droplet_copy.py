"""Copying a droplet to another app: the new row (STAGED at once for docker, which has no blob,
else COPYING) and the job that copies its blob inside the store, then moves it to STAGED."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.bits_copy import BitsCopy, fail_copy, run_copy
from ladle.actions.jobs import add_job, start_job
from ladle.db.models import App, Droplet
from ladle.db.states import droplet as droplet_states
from ladle.db.states.droplet import DropletState
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext

__all__ = ["copy_droplet", "fail_droplet_copy", "run_droplet_copy"]


def copy_droplet(
    session: Session, executor: Executor, source: Droplet, dest: App, user_guid: str
) -> tuple[Droplet, str | None]:
    """The new droplet, and the guid of the job copying its bits (None for docker droplets)."""
    if source.state != DropletState.STAGED:
        raise CFError("UnprocessableEntity", "source droplet is not staged")
    docker = source.lifecycle_type == "docker"
    droplet = Droplet(
        app_guid=dest.guid,
        state=DropletState.STAGED if docker else DropletState.COPYING,
        lifecycle_type=source.lifecycle_type,
        stack=source.stack,
        # The receipts keep the names and versions; where they came from (detect) is not copied.
        buildpack_receipts=[{**r, "detect_output": None} for r in source.buildpack_receipts or []],
        process_types=source.process_types,
        execution_metadata=source.execution_metadata,
        sidecars=source.sidecars,
        image=source.image,
        docker_username=source.docker_username,
        docker_password=source.docker_password,
    )
    session.add(droplet)
    session.flush()
    if docker:
        session.commit()
        return droplet, None
    job = add_job(
        session,
        "droplet.copy",
        resource_type="droplet",
        resource_guid=droplet.guid,
        payload={"source_guid": source.guid},
        user_guid=user_guid,
    )
    start_job(session, executor, job, refresh=[droplet])
    return droplet, job.guid


DROPLET_COPY = BitsCopy(
    droplet_states.MACHINE,
    lambda blobstores: blobstores.droplets,
    copying=DropletState.COPYING,
    done=DropletState.STAGED,
    failed=DropletState.FAILED,
    error_field="error_description",
    source_state=DropletState.STAGED,
    unusable_source="source droplet is not staged",
)


def run_droplet_copy(ctx: JobContext) -> None:
    run_copy(ctx, DROPLET_COPY)


def fail_droplet_copy(ctx: JobContext, reason: str) -> None:
    fail_copy(ctx, DROPLET_COPY, reason)
