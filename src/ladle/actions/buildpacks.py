"""Admin buildpacks: create, update, delete, and the job that takes an uploaded zip."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.actions.uploads import UploadedBits, discard_upload, stash_upload, taken_upload
from ladle.bits.archive import ArchiveLimits, InvalidArchive, inspect_zip
from ladle.blobstore import BlobNotFound, Blobstores, Digest
from ladle.config import Settings
from ladle.db.lifecycle import stack_exists
from ladle.db.lookup import by_guid
from ladle.db.models import Buildpack, Job
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.buildpack import BuildpackChange

__all__ = [
    "accept_buildpack_upload",
    "create_buildpack",
    "fail_buildpack_upload",
    "request_buildpack_delete",
    "run_buildpack_delete",
    "run_buildpack_upload",
    "update_buildpack",
]

MAX_MANIFEST = 1024 * 1024
BUILDPACK_LIMITS = ArchiveLimits(max_size=4 * 1024 * 1024 * 1024)


def _taken(name: str, stack: str | None, lifecycle: str) -> CFError:
    if stack is None:
        return CFError("UnprocessableEntity", f"Buildpack with name '{name}' and an unassigned stack already exists")
    return CFError(
        "UnprocessableEntity",
        f"Buildpack with name '{name}', stack '{stack}' and lifecycle '{lifecycle}' already exists",
    )


def _exists(session: Session, name: str, stack: str | None, lifecycle: str, except_guid: str | None = None) -> bool:
    stmt = select(Buildpack.id).where(
        Buildpack.name == name,
        func.coalesce(Buildpack.stack, "") == (stack or ""),
        Buildpack.lifecycle == lifecycle,
    )
    if except_guid is not None:
        stmt = stmt.where(Buildpack.guid != except_guid)
    return session.scalar(stmt) is not None


def _count(session: Session, lifecycle: str) -> int:
    return session.scalar(select(func.count()).where(Buildpack.lifecycle == lifecycle)) or 0


def _shift(session: Session, lifecycle: str, start: int, end: int | None, by: int) -> None:
    """Move the positions in [start, end] of one lifecycle's list by ``by``."""
    condition = [Buildpack.lifecycle == lifecycle, Buildpack.position >= start]
    if end is not None:
        condition.append(Buildpack.position <= end)
    session.execute(
        update(Buildpack)
        .where(*condition)
        .values(position=Buildpack.position + by)
        .execution_options(synchronize_session=False)
    )


def create_buildpack(session: Session, settings: Settings, change: BuildpackChange) -> Buildpack:
    values = change.values
    name, stack = values["name"], values.get("stack")
    lifecycle = values.get("lifecycle", "buildpack")
    if stack is not None and not stack_exists(session, stack):
        raise CFError("UnprocessableEntity", f"Stack '{stack}' does not exist")
    if _exists(session, name, stack, lifecycle):
        raise _taken(name, stack, lifecycle)
    # New buildpacks go to position 1 unless told otherwise; past the end means last.
    position = min(int(values.get("position", 1)), _count(session, lifecycle) + 1)
    _shift(session, lifecycle, position, None, +1)
    buildpack = Buildpack(
        name=name,
        stack=stack,
        lifecycle=lifecycle,
        position=position,
        enabled=values.get("enabled", True),
        locked=values.get("locked", False),
    )
    session.add(buildpack)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _taken(name, stack, lifecycle) from None
    apply_metadata(session, settings, "buildpack", buildpack.guid, change.metadata)
    session.commit()
    return buildpack


def update_buildpack(session: Session, settings: Settings, buildpack: Buildpack, change: BuildpackChange) -> Buildpack:
    values = change.values
    apply_metadata(session, settings, "buildpack", buildpack.guid, change.metadata)
    if "position" in values:
        target = min(int(values["position"]), _count(session, buildpack.lifecycle))
        current = buildpack.position
        if target < current:
            _shift(session, buildpack.lifecycle, target, current - 1, +1)
        elif target > current:
            _shift(session, buildpack.lifecycle, current + 1, target, -1)
        buildpack.position = target
    if "stack" in values and values["stack"] != buildpack.stack:
        if buildpack.stack is not None:
            raise CFError("UnprocessableEntity", "Buildpack stack cannot be changed")
        if not stack_exists(session, values["stack"]):
            raise CFError("UnprocessableEntity", f"Stack '{values['stack']}' does not exist")
        buildpack.stack = values["stack"]
    for key in ("enabled", "locked"):
        if key in values:
            setattr(buildpack, key, values[key])
    if values.get("name") is not None:
        buildpack.name = values["name"]
    if _exists(session, buildpack.name, buildpack.stack, buildpack.lifecycle, except_guid=buildpack.guid):
        raise _taken(buildpack.name, buildpack.stack, buildpack.lifecycle)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _taken(buildpack.name, buildpack.stack, buildpack.lifecycle) from None
    return buildpack


def request_buildpack_delete(session: Session, executor: Executor, buildpack: Buildpack, user_guid: str) -> Job:
    job = add_job(
        session, "buildpack.delete", resource_type="buildpack", resource_guid=buildpack.guid, user_guid=user_guid
    )
    return start_job(session, executor, job)


def run_buildpack_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        buildpack = by_guid(s, Buildpack, ctx.resource_guid or "")
        if buildpack is None:
            return
        key = buildpack.blob_key
        _shift(s, buildpack.lifecycle, buildpack.position + 1, None, -1)
        delete_metadata(s, "buildpack", [buildpack.guid])
        s.delete(buildpack)
        s.commit()
    if key:
        ctx.blobstores.buildpacks.delete(key)


def accept_buildpack_upload(
    session: Session,
    executor: Executor,
    blobstores: Blobstores,
    buildpack: Buildpack,
    bits: UploadedBits,
    *,
    filename: str,
    user_guid: str,
) -> Job:
    job = add_job(
        session,
        "buildpack.upload",
        resource_type="buildpack",
        resource_guid=buildpack.guid,
        payload={**stash_upload(blobstores, bits), "filename": filename},
        user_guid=user_guid,
    )
    return start_job(session, executor, job)


def _manifest_stack(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo("manifest.yml")
            except KeyError:
                return None
            if info.file_size > MAX_MANIFEST:
                raise CFError("BuildpackZipError", "buildpack manifest is too large")
            manifest: Any = yaml.safe_load(zf.read(info))
    except yaml.YAMLError:
        raise CFError("BuildpackZipError", "buildpack manifest is not valid") from None
    except (zipfile.BadZipFile, OSError):
        raise CFError("BuildpackZipError", "buildpack zipfile is not valid") from None
    stack = manifest.get("stack") if isinstance(manifest, dict) else None
    return str(stack) if stack else None


def run_buildpack_upload(ctx: JobContext) -> None:
    try:
        with taken_upload(ctx) as (upload, digest):
            _store_buildpack(ctx, upload, digest)
    except BlobNotFound:
        raise CFError("BuildpackZipError", "the uploaded buildpack zipfile is gone; upload it again") from None


def _store_buildpack(ctx: JobContext, upload: Path, digest: Digest) -> None:
    try:
        inspect_zip(upload, BUILDPACK_LIMITS)
    except InvalidArchive:
        raise CFError("BuildpackZipError", "buildpack zipfile is not valid") from None
    manifest_stack = _manifest_stack(upload)
    with ctx.db.session() as s:
        buildpack = by_guid(s, Buildpack, ctx.resource_guid or "")
        if buildpack is None or buildpack.locked:
            return
        stack = manifest_stack or buildpack.stack or ctx.settings.default_stack
        if buildpack.stack is not None and stack != buildpack.stack:
            raise CFError("BuildpackStacksDontMatch", stack, buildpack.stack)
        if not stack_exists(s, stack):
            raise CFError("BuildpackStackDoesNotExist", stack)
        key = f"{buildpack.guid}_{digest.sha256}"
        ctx.blobstores.buildpacks.put_file(key, upload, digest=digest, move=True)
        old_key = buildpack.blob_key
        buildpack.stack, buildpack.blob_key, buildpack.sha256 = stack, key, digest.sha256
        buildpack.filename = ctx.payload["filename"]
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            ctx.blobstores.buildpacks.delete(key)
            raise _taken(buildpack.name, stack, buildpack.lifecycle) from None
    if old_key and old_key != key:
        # Stagings already running keep their own unpacked copy, so the old blob can go now.
        ctx.blobstores.buildpacks.delete(old_key)


def fail_buildpack_upload(ctx: JobContext, _reason: str) -> None:
    discard_upload(ctx)
