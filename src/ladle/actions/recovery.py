"""Putting things straight after a crash: unfinished writes, abandoned jobs, orphan blobs.

The orphan sweep also runs hourly: it is how blobs of deleted or expired resources are
guaranteed not to leak even when the job that should delete them never ran."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.staging_jobs import fail_expired_builds
from ladle.blobstore import Blobstore, Blobstores
from ladle.config import Settings
from ladle.db.models import App, Buildpack, Droplet, Job, Package
from ladle.db.session import Database
from ladle.db.states import droplet as droplet_states
from ladle.db.states import package as package_states
from ladle.db.states.job import JobState
from ladle.jobs.runner import JobRunner
from ladle.sandbox import SandboxConfig
from ladle.sandbox.cgroups import remove_leftover_cgroups

__all__ = ["recover_at_startup", "sweep_orphan_blobs"]

log = logging.getLogger("ladle.recovery")


@dataclass(frozen=True)
class _Bucket:
    name: str
    store: Blobstore
    is_live: Callable[[Session, str], bool]


def _package_is_live(session: Session, key: str) -> bool:
    state = session.scalar(select(Package.state).where(Package.guid == key))
    return state in package_states.HOLDS_BITS


def _droplet_is_live(session: Session, key: str) -> bool:
    state = session.scalar(select(Droplet.state).where(Droplet.guid == key))
    return state in droplet_states.HOLDS_BITS


def _buildpack_is_live(session: Session, key: str) -> bool:
    return session.scalar(select(Buildpack.id).where(Buildpack.blob_key == key)) is not None


def _cache_is_live(session: Session, key: str) -> bool:
    # Build caches are keyed "<app guid>/<stack>": they live as long as their app.
    return session.scalar(select(App.id).where(App.guid == key.split("/", 1)[0])) is not None


def _upload_is_live(session: Session, key: str) -> bool:
    # An upload lives until the job that names it has taken it (or has failed and discarded it).
    return (
        session.scalar(select(Job.id).where(Job.state == JobState.PROCESSING, Job.payload["upload"].as_string() == key))
        is not None
    )


def _buckets(blobstores: Blobstores) -> list[_Bucket]:
    # The resource pool is not swept: its files belong to no row, only to their content.
    return [
        _Bucket("packages", blobstores.packages, _package_is_live),
        _Bucket("droplets", blobstores.droplets, _droplet_is_live),
        _Bucket("buildpacks", blobstores.buildpacks, _buildpack_is_live),
        _Bucket("buildpack_cache", blobstores.buildpack_cache, _cache_is_live),
        _Bucket("uploads", blobstores.uploads, _upload_is_live),
    ]


def sweep_orphan_blobs(db: Database, blobstores: Blobstores, grace: timedelta) -> int:
    """Delete blobs no live resource points at. Blobs younger than ``grace`` are spared: their
    row may not be committed yet, on this node or another."""
    removed = 0
    # Blob times are precise; utcnow() drops the fraction of a second.
    cutoff = datetime.now(UTC).replace(tzinfo=None) - grace
    for bucket in _buckets(blobstores):
        with db.session() as s:
            for entry in bucket.store.entries():
                if entry.modified > cutoff:
                    continue
                if not bucket.is_live(s, entry.key):
                    bucket.store.delete(entry.key)
                    removed += 1
                    log.info("orphan blob deleted", extra={"bucket": bucket.name, "key": entry.key})
    return removed


def recover_at_startup(
    settings: Settings, db: Database, blobstores: Blobstores, runner: JobRunner, *, orphan_grace: timedelta
) -> None:
    """Run before this node takes requests or starts jobs. Only what this node left behind goes
    at once (its unfinished writes, its scratch space, the jobs it held); other nodes may be
    working, so everything shared is swept with a grace period."""
    leftovers = blobstores.recover()
    # Spooled uploads not yet handed over, half-built packages, stagings cut short: all of it
    # starts again from nothing (an accepted upload is already in the blob store).
    shutil.rmtree(settings.scratch_dir, ignore_errors=True)
    # Their jails' processes died with the server (bubblewrap's parent-death signal); their
    # cgroups stay until removed, empty or not.
    cgroups = remove_leftover_cgroups(SandboxConfig.from_settings(settings).staging_prefix)
    settled = 0
    for guid in runner.abandoned(at_startup=True):
        if not runner.retryable(guid):
            runner.run(guid)  # over its attempts: this fails it and tidies up after it
            settled += 1
    # Past its deadline a build fails now rather than staging again when its job resumes.
    expired = fail_expired_builds(db, settings)
    orphans = sweep_orphan_blobs(db, blobstores, orphan_grace)
    log.info(
        "startup recovery done",
        extra={
            "unfinished_writes": leftovers,
            "jobs_failed": settled,
            "builds_expired": expired,
            "orphan_blobs": orphans,
            "staging_cgroups_removed": cgroups,
        },
    )
