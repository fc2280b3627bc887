"""Ladle's system buildpacks as admin buildpacks: installed on first start, restored on demand.

:func:`install_at_startup` is the one call a server makes at start-up (after the database is
migrated). The first time, it adds every buildpack of :data:`ladle.buildpacks.CATALOG`
as an admin buildpack behind the ones that exist, in the catalog's order, and records in
``system_buildpacks`` that it did. From then on the admin owns them: a buildpack deleted stays
deleted, positions and names are left alone. What later starts still do for each one Ladle
installed:

- the zip is replaced when this Ladle ships a different one (unless the buildpack is locked);
- when the host lacks its runtime (no ``node`` for nodejs_buildpack, ...) it is disabled and the
  reason logged, and when the runtime turns up it is enabled again; a buildpack the admin
  disabled is never enabled by Ladle.

``ladle buildpacks install-defaults`` calls it with ``restore=True``: deleted ones come back (at
the end of the list), disabled ones are enabled where the host has their runtime, and the
current zips are uploaded. An admin buildpack that already has one of these names is never
touched; Ladle's is skipped.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.blobstore import Blobstores
from ladle.buildpacks import CATALOG, BuildpackZip, SystemBuildpack, build_zip, missing_runtimes
from ladle.config import Settings
from ladle.db.dialects import cluster_lock
from ladle.db.lookup import by_guid
from ladle.db.models import Buildpack
from ladle.db.models import SystemBuildpack as InstalledRecord
from ladle.db.session import Database

__all__ = ["Outcome", "install_at_startup", "install_system_buildpacks"]

log = logging.getLogger("ladle.buildpacks")
LIFECYCLE = "buildpack"
# Several servers starting at once against one database install the buildpacks one at a time.
ADVISORY_LOCK = 7405125


@dataclass(frozen=True)
class Outcome:
    name: str
    # installed, restored, updated, unchanged, deleted (by an admin), or skipped (name taken)
    action: str
    enabled: bool | None = None
    position: int | None = None
    # Why it is disabled (a missing runtime) or skipped.
    reason: str | None = None


@dataclass
class _Work:
    settings: Settings
    blobstores: Blobstores
    restore: bool
    # Blobs to delete once the new rows are committed; blobs written, to delete if they are not.
    stale_blobs: list[str] = field(default_factory=list)
    new_blobs: list[str] = field(default_factory=list)


def install_system_buildpacks(
    settings: Settings, db: Database, blobstores: Blobstores, *, restore: bool = False
) -> list[Outcome]:
    """Make sure Ladle's system buildpacks are admin buildpacks (see the module's docstring).

    Does nothing when ``settings.system_buildpacks`` is off, unless ``restore`` asks for it."""
    if not settings.system_buildpacks and not restore:
        return []
    scratch = settings.scratch_dir / f"system-buildpacks-{uuid.uuid4().hex}"
    work = _Work(settings, blobstores, restore)
    try:
        missing = missing_runtimes(CATALOG)
        with cluster_lock(db.engine, ADVISORY_LOCK) as connection, db.session(bind=connection) as s:
            outcomes = [_ensure(s, work, bp, build_zip(bp, scratch), missing[bp.name]) for bp in CATALOG]
            s.commit()
    except BaseException:
        for key in work.new_blobs:
            blobstores.buildpacks.delete(key)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for key in work.stale_blobs:
        blobstores.buildpacks.delete(key)
    for outcome in outcomes:
        _log(outcome)
    return outcomes


def install_at_startup(settings: Settings, db: Database, blobstores: Blobstores) -> None:
    """:func:`install_system_buildpacks` for a server starting: a failure is logged, not fatal
    (nothing of it was committed, so the next start tries again)."""
    try:
        install_system_buildpacks(settings, db, blobstores)
    except IntegrityError:
        log.info("system buildpacks were installed by another server starting at the same time")
    except Exception:
        log.exception("installing the system buildpacks failed")


def _log(outcome: Outcome) -> None:
    extra = {"buildpack": outcome.name, "action": outcome.action, "position": outcome.position}
    if outcome.enabled is False and outcome.reason:
        log.warning(f"system buildpack {outcome.name} is disabled: {outcome.reason}", extra=extra)
    elif outcome.enabled and outcome.reason:
        log.warning(f"system buildpack {outcome.name} is enabled, but {outcome.reason}", extra=extra)
    elif outcome.action == "skipped":
        log.warning(f"system buildpack {outcome.name} not installed: {outcome.reason}", extra=extra)
    elif outcome.action in ("installed", "restored", "updated"):
        log.info(f"system buildpack {outcome.name} {outcome.action}", extra=extra)


def _store(s: Session, work: _Work, row: Buildpack, bits: BuildpackZip) -> None:
    """Give the row this zip (its blob key is the guid and the sha256, as for uploads)."""
    key = f"{row.guid}_{bits.sha256}"
    work.blobstores.buildpacks.put_file(key, bits.path)
    work.new_blobs.append(key)
    if row.blob_key and row.blob_key != key:
        work.stale_blobs.append(row.blob_key)
    row.blob_key, row.sha256, row.filename = key, bits.sha256, bits.filename
    row.stack = row.stack or work.settings.default_stack


def _name_taken(s: Session, name: str) -> bool:
    """Whether an admin buildpack already has the name (for any stack, or none): naming it when
    pushing would then be ambiguous, so Ladle leaves the name to the admin's."""
    return s.scalar(select(Buildpack.id).where(Buildpack.name == name, Buildpack.lifecycle == LIFECYCLE)) is not None


def _ensure(s: Session, work: _Work, bp: SystemBuildpack, bits: BuildpackZip, missing: str | None) -> Outcome:
    stack = work.settings.default_stack
    record = s.scalars(select(InstalledRecord).where(InstalledRecord.name == bp.name)).first()
    row = by_guid(s, Buildpack, record.buildpack_guid) if record and record.buildpack_guid else None
    if row is None and (record is None or work.restore):
        action = "installed" if record is None else "restored"
        if record is None:
            record = InstalledRecord(name=bp.name)
            s.add(record)
        if _name_taken(s, bp.name):
            record.buildpack_guid = None
            return Outcome(bp.name, "skipped", reason=f"an admin buildpack named {bp.name} already exists")
        position = (s.scalar(select(func.count()).where(Buildpack.lifecycle == LIFECYCLE)) or 0) + 1
        row = Buildpack(
            name=bp.name, stack=stack, lifecycle=LIFECYCLE, position=position, enabled=missing is None, locked=False
        )
        s.add(row)
        s.flush()
        _store(s, work, row, bits)
        record.buildpack_guid, record.disabled_reason = row.guid, missing
        return Outcome(bp.name, action, row.enabled, row.position, missing)
    if row is None:
        return Outcome(bp.name, "deleted", reason="deleted by an admin (ladle buildpacks install-defaults restores it)")
    assert record is not None
    action = "unchanged"
    if row.sha256 != bits.sha256 and not row.locked:
        _store(s, work, row, bits)
        action = "updated"
    if work.restore:
        row.enabled, record.disabled_reason = missing is None, missing
    elif missing is not None:
        if row.enabled and record.disabled_reason is None:
            # The runtime went away: Ladle disables the buildpack and remembers that it did. (An
            # admin who enabled it again after that has the last word: it stays enabled.)
            row.enabled, record.disabled_reason = False, missing
        elif record.disabled_reason is not None:
            record.disabled_reason = missing
    elif record.disabled_reason is not None:
        # The runtime is back: Ladle enables what it disabled (never what an admin disabled).
        row.enabled, record.disabled_reason = True, None
    return Outcome(bp.name, action, row.enabled, row.position, missing)
