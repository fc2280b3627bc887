"""Package bits: accepting an upload, the job that turns it into a stored package, copies, deletion."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.bits_copy import copy_bits, fail_copy_state
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import delete_metadata
from ladle.bits.archive import ArchiveLimits, InvalidArchive
from ladle.bits.package_builder import build_package, feed_pool
from ladle.bits.resource_pool import ResourcePool
from ladle.blobstore import Blobstores
from ladle.blobstore.base import Digest
from ladle.config import Settings
from ladle.db.feature_flags import get_flag
from ladle.db.lookup import by_guid
from ladle.db.models import Job, Package
from ladle.db.states import package as package_states
from ladle.db.states.package import PackageState, move_package
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.package_upload import Fingerprint, PackageUpload

__all__ = [
    "UploadedBits",
    "accept_upload",
    "fail_copy",
    "fail_upload",
    "request_package_delete",
    "resource_pool",
    "run_package_copy",
    "run_package_delete",
    "run_package_upload",
]

log = logging.getLogger("ladle.packages")


@dataclass(frozen=True)
class UploadedBits:
    """A zip received with a request, already on disk with its checksums."""

    path: Path
    digest: Digest


def resource_pool(settings: Settings, blobstores: Blobstores) -> ResourcePool:
    return ResourcePool(blobstores.resources, settings.resource_pool_min_size, settings.resource_pool_max_size)


def accept_upload(
    session: Session,
    executor: Executor,
    package: Package,
    msg: PackageUpload,
    *,
    bits: UploadedBits | None,
    user_guid: str,
    node: str,
) -> Job:
    """Move the package to PROCESSING_UPLOAD and start the job that takes over the uploaded file."""
    if not move_package(session, package.guid, PackageState.AWAITING_UPLOAD, PackageState.PROCESSING_UPLOAD):
        raise CFError("PackageBitsAlreadyUploaded")
    payload: dict[str, object] = {"fingerprints": [f.to_json() for f in msg.fingerprints]}
    if bits is not None:
        payload.update(upload=str(bits.path), size=bits.digest.size, sha1=bits.digest.sha1, sha256=bits.digest.sha256)
    job = add_job(
        session,
        "package.upload",
        resource_type="package",
        resource_guid=package.guid,
        payload=payload,
        user_guid=user_guid,
        # The uploaded file is on this machine: only this worker can process it.
        node=node,
    )
    start_job(session, executor, job)
    session.refresh(package)
    return job


def run_package_upload(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    payload = ctx.payload
    upload = Path(payload["upload"]) if payload.get("upload") else None
    digest = Digest(payload["size"], payload["sha1"], payload["sha256"]) if upload is not None else None
    settings = ctx.settings
    pool = resource_pool(settings, ctx.blobstores)
    limits = ArchiveLimits(max_size=settings.max_package_size, max_ratio=settings.max_compression_ratio)
    scratch = settings.scratch_dir / "packages" / guid
    try:
        if upload is not None and not upload.exists():
            raise InvalidArchive("The app upload is invalid: the uploaded file is gone; upload the bits again")
        fingerprints = [Fingerprint(**f) for f in payload.get("fingerprints", [])]
        built = build_package(upload, digest, fingerprints, pool=pool, limits=limits, scratch=scratch)
        ctx.blobstores.packages.put_file(guid, built.path, digest=built.digest, move=True)
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
    except InvalidArchive as exc:
        raise CFError("UnprocessableEntity", str(exc)) from exc
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _feed_pool(ctx: JobContext, guid: str, pool: ResourcePool) -> None:
    path = ctx.blobstores.packages.local_path(guid)
    if path is None:
        return
    try:
        added = feed_pool(path, pool)
    except (InvalidArchive, OSError) as exc:
        # The package is already READY; a pool that misses some files only costs a re-upload.
        log.warning("could not add package files to the resource pool", extra={"package": guid, "error": str(exc)})
        return
    log.info("resource pool updated", extra={"package": guid, "added": added})


def fail_upload(ctx: JobContext, reason: str) -> None:
    """The job failed or was abandoned: the package ends FAILED with the reason, nothing half kept."""
    upload = ctx.payload.get("upload")
    if upload:
        Path(upload).unlink(missing_ok=True)
    with ctx.db.session() as s:
        move_package(s, ctx.resource_guid or "", PackageState.PROCESSING_UPLOAD, PackageState.FAILED, error=reason)
        s.commit()


def run_package_copy(ctx: JobContext) -> None:
    source_guid = ctx.payload["source_guid"]
    with ctx.db.session() as s:
        source = by_guid(s, Package, source_guid)
        if source is None:
            raise CFError("UnprocessableEntity", "source package does not exist")
        sha1, sha256, size = source.sha1, source.sha256, source.size
    copy_bits(
        ctx,
        ctx.blobstores.packages,
        package_states.MACHINE,
        source_guid,
        copying=PackageState.COPYING,
        done=PackageState.READY,
        sha1=sha1,
        sha256=sha256,
        size=size,
    )


def fail_copy(ctx: JobContext, reason: str) -> None:
    fail_copy_state(
        ctx,
        package_states.MACHINE,
        copying=PackageState.COPYING,
        failed=PackageState.FAILED,
        error_field="error",
        reason=reason,
    )


def request_package_delete(session: Session, executor: Executor, package: Package, user_guid: str) -> Job:
    job = add_job(session, "package.delete", resource_type="package", resource_guid=package.guid, user_guid=user_guid)
    return start_job(session, executor, job)


def run_package_delete(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        package = s.scalars(select(Package).where(Package.guid == guid)).first()
        if package is not None:
            delete_metadata(s, "package", [package.guid])
            s.delete(package)
            s.commit()
    # The row goes first: a crash in between leaves an orphan blob for the sweep, never a
    # package pointing at a deleted blob.
    ctx.blobstores.packages.delete(guid)
