"""Uploading a droplet: accept the upload, then the job that checks the tarball without extracting
it and stores it. The droplet is STAGED only after its blob is stored, by a conditional move
from PROCESSING_UPLOAD."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.actions.uploads import UploadedBits, fail_uploaded, stash_upload, taken_upload
from ladle.bits.tarball import DropletLimits, InvalidDroplet, inspect_droplet
from ladle.blobstore import BlobNotFound, Blobstores
from ladle.config import Settings
from ladle.db.models import Droplet, Job
from ladle.db.states import droplet as droplet_states
from ladle.db.states.droplet import DropletState, move_droplet
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext

__all__ = ["accept_droplet_upload", "fail_droplet_upload", "run_droplet_upload"]

log = logging.getLogger("ladle.droplets")

GONE = "The uploaded droplet is gone; create a new droplet and upload it again"


def accept_droplet_upload(
    session: Session,
    executor: Executor,
    blobstores: Blobstores,
    droplet: Droplet,
    bits: UploadedBits,
    *,
    user_guid: str,
) -> Job:
    if not move_droplet(session, droplet.guid, DropletState.AWAITING_UPLOAD, DropletState.PROCESSING_UPLOAD):
        raise CFError("UnprocessableEntity", "Droplet may be uploaded only once. Create a new droplet to upload bits.")
    job = add_job(
        session,
        "droplet.upload",
        resource_type="droplet",
        resource_guid=droplet.guid,
        payload=stash_upload(blobstores, bits),
        user_guid=user_guid,
    )
    start_job(session, executor, job, refresh=[droplet])
    return job


def _limits(settings: Settings) -> DropletLimits:
    return DropletLimits(max_expanded_size=settings.max_droplet_expanded_size, max_ratio=settings.max_compression_ratio)


def run_droplet_upload(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    try:
        with taken_upload(ctx) as (upload, digest):
            try:
                inspect_droplet(upload, _limits(ctx.settings))
            except InvalidDroplet as exc:
                raise CFError("UnprocessableEntity", f"Invalid droplet: {exc}") from None
            ctx.blobstores.droplets.put_file(guid, upload, digest=digest, move=True)
    except BlobNotFound:
        raise CFError("UnprocessableEntity", GONE) from None
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


def fail_droplet_upload(ctx: JobContext, reason: str) -> None:
    fail_uploaded(
        ctx,
        droplet_states.MACHINE,
        ctx.blobstores.droplets,
        processing=DropletState.PROCESSING_UPLOAD,
        failed=DropletState.FAILED,
        error_description=reason,
    )
