"""Uploading a package's bits: accept the upload, then the job that checks the zip, adds the files
matched in the resource pool, stores the package and feeds new files back to the pool.

The package moves to READY only after its blob is stored, by a conditional move from
PROCESSING_UPLOAD: a package deleted meanwhile loses nothing and leaks nothing.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.audit import record_app_event, user_actor
from ladle.actions.jobs import add_job, start_job
from ladle.actions.uploads import UploadedBits, fail_uploaded, stash_upload, taken_upload
from ladle.bits.archive import ArchiveLimits, InvalidArchive
from ladle.bits.package_builder import build_package, feed_pool
from ladle.bits.resource_pool import ResourcePool
from ladle.blobstore import BlobNotFound, Blobstores, Digest
from ladle.config import Settings
from ladle.db.feature_flags import get_flag
from ladle.db.models import App, Job, Package
from ladle.db.states import package as package_states
from ladle.db.states.package import PackageState, move_package
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.package_upload import Fingerprint, PackageUpload

__all__ = ["accept_upload", "fail_upload", "resource_pool", "run_package_upload"]

log = logging.getLogger("ladle.packages")

GONE = "The app upload is invalid: the uploaded file is gone; upload the bits again"


def resource_pool(settings: Settings, blobstores: Blobstores) -> ResourcePool:
    return ResourcePool(blobstores.resources, settings.resource_pool_min_size, settings.resource_pool_max_size)


def accept_upload(
    session: Session,
    executor: Executor,
    blobstores: Blobstores,
    package: Package,
    msg: PackageUpload,
    *,
    bits: UploadedBits | None,
    user_guid: str,
) -> Job:
    """Move the package to PROCESSING_UPLOAD, hand the file to the blob store, start the job."""
    if not move_package(session, package.guid, PackageState.AWAITING_UPLOAD, PackageState.PROCESSING_UPLOAD):
        raise CFError("PackageBitsAlreadyUploaded")
    app = session.scalar(select(App).where(App.guid == package.app_guid))
    if app is not None:
        record_app_event(
            session, "audit.app.package.upload", user_actor(session, user_guid), app, {"package_guid": package.guid}
        )
    payload: dict[str, object] = {"fingerprints": [f.to_json() for f in msg.fingerprints]}
    if bits is not None:
        payload.update(stash_upload(blobstores, bits))
    job = add_job(
        session,
        "package.upload",
        resource_type="package",
        resource_guid=package.guid,
        payload=payload,
        user_guid=user_guid,
    )
    start_job(session, executor, job, refresh=[package])
    return job


def run_package_upload(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    settings = ctx.settings
    pool = resource_pool(settings, ctx.blobstores)
    limits = ArchiveLimits(max_size=settings.max_package_size, max_ratio=settings.max_compression_ratio)
    scratch = settings.scratch_dir / "packages" / guid
    fingerprints = [Fingerprint(**f) for f in ctx.payload.get("fingerprints", [])]
    try:
        with _upload_of(ctx) as (upload, digest):
            built = build_package(upload, digest, fingerprints, pool=pool, limits=limits, scratch=scratch)
            # When nothing had to change this is the upload itself, renamed into the packages bucket.
            ctx.blobstores.packages.put_file(guid, built.path, digest=built.digest, move=True)
    except BlobNotFound:
        raise CFError("UnprocessableEntity", GONE) from None
    except InvalidArchive as exc:
        raise CFError("UnprocessableEntity", str(exc)) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with ctx.db.session() as s:
        ready = move_package(
            s,
            guid,
            PackageState.PROCESSING_UPLOAD,
            PackageState.READY,
            sha1=built.digest.sha1,
            sha256=built.digest.sha256,
            size=built.digest.size,
            error=None,
        )
        s.commit()
    if not ready:
        # Deleted (or failed by someone else) while we worked: the blob belongs to no one.
        ctx.blobstores.packages.delete(guid)
        return
    log.info("package ready", extra={"package": guid, "bytes": built.digest.size})
    with ctx.db.session() as s:
        flag = get_flag(s, "resource_matching")
    if flag is not None and flag.enabled:
        _feed_pool(ctx, guid, pool)


def _upload_of(ctx: JobContext) -> AbstractContextManager[tuple[Path | None, Digest | None]]:
    """The uploaded zip, or nothing when the client sent only resource fingerprints."""
    if ctx.payload.get("upload"):
        return taken_upload(ctx)
    return nullcontext((None, None))


def _feed_pool(ctx: JobContext, guid: str, pool: ResourcePool) -> None:
    try:
        with ctx.blobstores.packages.open_local(guid) as path:
            added = feed_pool(path, pool)
    except (BlobNotFound, InvalidArchive, OSError) as exc:
        # The package is already READY; a pool that misses some files only costs a re-upload.
        log.warning("could not add package files to the resource pool", extra={"package": guid, "error": str(exc)})
        return
    log.info("resource pool updated", extra={"package": guid, "added": added})


def fail_upload(ctx: JobContext, reason: str) -> None:
    fail_uploaded(
        ctx,
        package_states.MACHINE,
        ctx.blobstores.packages,
        processing=PackageState.PROCESSING_UPLOAD,
        failed=PackageState.FAILED,
        error=reason,
    )
