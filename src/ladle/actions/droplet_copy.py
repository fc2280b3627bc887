"""Copying a droplet to another app: the new row (STAGED at once for docker, which has no blob,
else COPYING) and the job that copies its blob inside the store, then moves it to STAGED."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.bits_copy import copy_bits, fail_copy_state
from ladle.actions.jobs import add_job, start_job
from ladle.db.lookup import by_guid
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
    start_job(session, executor, job)
    session.refresh(droplet)
    return droplet, job.guid


def run_droplet_copy(ctx: JobContext) -> None:
    source_guid = ctx.payload["source_guid"]
    with ctx.db.session() as s:
        source = by_guid(s, Droplet, source_guid)
        if source is None or source.state != DropletState.STAGED:
            raise CFError("UnprocessableEntity", "source droplet is not staged")
        sha1, sha256, size = source.sha1, source.sha256, source.size
    copy_bits(
        ctx,
        ctx.blobstores.droplets,
        droplet_states.MACHINE,
        source_guid,
        copying=DropletState.COPYING,
        done=DropletState.STAGED,
        sha1=sha1,
        sha256=sha256,
        size=size,
    )


def fail_droplet_copy(ctx: JobContext, reason: str) -> None:
    fail_copy_state(
        ctx,
        ctx.blobstores.droplets,
        droplet_states.MACHINE,
        copying=DropletState.COPYING,
        failed=DropletState.FAILED,
        error_field="error_description",
        reason=reason,
    )
