"""Droplets made outside staging: created empty and uploaded, or copied; updates and deletion.

A droplet is STAGED only once its blob is whole in the store, and every change of state is a
conditional update from the state the writer expects, so a delete racing an upload or a copy
never leaves a row pointing at a missing or partial blob.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.bits_copy import copy_bits, fail_copy_state
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.bits.tarball import DropletLimits, InvalidDroplet, inspect_droplet
from ladle.blobstore.base import Digest
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.lookup import by_guid
from ladle.db.models import App, Droplet, Job
from ladle.db.states import droplet as droplet_states
from ladle.db.states.droplet import DropletState, move_droplet
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.droplet import DropletCreate, DropletUpdate

__all__ = [
    "accept_droplet_upload",
    "copy_droplet",
    "create_droplet",
    "fail_droplet_copy",
    "fail_droplet_upload",
    "request_droplet_delete",
    "run_droplet_copy",
    "run_droplet_delete",
    "run_droplet_upload",
    "update_droplet",
]

log = logging.getLogger("ladle.droplets")


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
        droplet_states.MACHINE,
        copying=DropletState.COPYING,
        failed=DropletState.FAILED,
        error_field="error_description",
        reason=reason,
    )


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


def accept_droplet_upload(
    session: Session,
    executor: Executor,
    droplet: Droplet,
    upload: Path,
    digest: Digest,
    *,
    user_guid: str,
    node: str,
) -> Job:
    if not move_droplet(session, droplet.guid, DropletState.AWAITING_UPLOAD, DropletState.PROCESSING_UPLOAD):
        raise CFError("UnprocessableEntity", "Droplet may be uploaded only once. Create a new droplet to upload bits.")
    job = add_job(
        session,
        "droplet.upload",
        resource_type="droplet",
        resource_guid=droplet.guid,
        payload={"upload": str(upload), "size": digest.size, "sha1": digest.sha1, "sha256": digest.sha256},
        user_guid=user_guid,
        # The uploaded file is on this machine: only this worker can process it.
        node=node,
    )
    start_job(session, executor, job)
    session.refresh(droplet)
    return job


def droplet_limits(settings: Settings) -> DropletLimits:
    return DropletLimits(max_expanded_size=settings.max_droplet_expanded_size, max_ratio=settings.max_compression_ratio)


def run_droplet_upload(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    payload = ctx.payload
    upload = Path(payload["upload"])
    try:
        if not upload.exists():
            raise CFError(
                "UnprocessableEntity", "The uploaded droplet is gone; create a new droplet and upload it again"
            )
        try:
            inspect_droplet(upload, droplet_limits(ctx.settings))
        except InvalidDroplet as exc:
            raise CFError("UnprocessableEntity", f"Invalid droplet: {exc}") from None
        digest = Digest(payload["size"], payload["sha1"], payload["sha256"])
        ctx.blobstores.droplets.put_file(guid, upload, digest=digest, move=True)
        with ctx.db.session() as s:
            staged = move_droplet(
                s,
                guid,
                DropletState.PROCESSING_UPLOAD,
                DropletState.STAGED,
                sha1=digest.sha1,
                sha256=digest.sha256,
                size=digest.size,
            )
            s.commit()
        if not staged:
            ctx.blobstores.droplets.delete(guid)  # deleted while we worked
            return
        log.info("droplet uploaded", extra={"droplet": guid, "bytes": digest.size})
    finally:
        upload.unlink(missing_ok=True)


def fail_droplet_upload(ctx: JobContext, reason: str) -> None:
    Path(ctx.payload["upload"]).unlink(missing_ok=True)
    with ctx.db.session() as s:
        move_droplet(
            s, ctx.resource_guid or "", DropletState.PROCESSING_UPLOAD, DropletState.FAILED, error_description=reason
        )
        s.commit()
