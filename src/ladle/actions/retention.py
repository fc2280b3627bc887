"""Keeping an app's stored bits bounded: old packages and droplets expire after each staging.

As in Cloud Controller, the current droplet and the package it came from are never expired,
and of the rest only the newest few are kept. An expired row stays (state EXPIRED, no
checksum) so that its history still lists; its blob is deleted by a job, after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job
from ladle.blobstore import Blobstore
from ladle.config import Settings
from ladle.db.lookup import by_guid
from ladle.db.models import App, Droplet, Job, Package
from ladle.db.states import droplet as droplet_states
from ladle.db.states import package as package_states
from ladle.db.states.droplet import DropletState
from ladle.db.states.machine import StateMachine
from ladle.db.states.package import PackageState
from ladle.jobs.executor import JobContext

__all__ = ["expire_old_bits", "run_expired_blob_delete"]

log = logging.getLogger("ladle.retention")

Bits = TypeVar("Bits", Droplet, Package)
S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class _Retained(Generic[Bits, S]):
    machine: StateMachine[Bits, S]
    live: S
    expired: S


DROPLETS = _Retained(droplet_states.MACHINE, DropletState.STAGED, DropletState.EXPIRED)
PACKAGES = _Retained(package_states.MACHINE, PackageState.READY, PackageState.EXPIRED)


def _expire(session: Session, kind: _Retained[Bits, S], app: App, *, keep: int, spare: set[str]) -> list[str]:
    machine, live = kind.machine, kind.live
    model = machine.model
    candidates = session.scalars(
        select(model.guid)
        .where(model.app_guid == app.guid, model.state == live, model.guid.not_in(spare or {""}))
        .order_by(model.created_at.desc(), model.id.desc())
    ).all()
    expired = list(candidates[keep:])
    if expired:
        machine.move_where(session, model.guid.in_(expired), live, kind.expired)
    return expired


def expire_old_bits(session: Session, settings: Settings, app_guid: str) -> Job | None:
    """Expire what is over the limits, in the caller's transaction; returns the blob-delete job
    to hand to a worker once committed (None when nothing expired)."""
    app = by_guid(session, App, app_guid)
    if app is None or app.droplet_guid is None:
        return None  # as in CC: nothing expires before the app has a droplet to run
    current = by_guid(session, Droplet, app.droplet_guid)
    spare_droplets = {app.droplet_guid}
    spare_packages = {current.package_guid} if current is not None and current.package_guid else set()
    droplets = _expire(session, DROPLETS, app, keep=settings.max_retained_droplets, spare=spare_droplets)
    packages = _expire(session, PACKAGES, app, keep=settings.max_retained_packages, spare=spare_packages)
    if not droplets and not packages:
        return None
    log.info("bits expired", extra={"app": app_guid, "droplets": len(droplets), "packages": len(packages)})
    return add_job(
        session,
        "bits.delete_expired",
        resource_type="app",
        resource_guid=app_guid,
        payload={"droplets": droplets, "packages": packages},
    )


def run_expired_blob_delete(ctx: JobContext) -> None:
    """Delete the expired blobs, then forget their checksums (the rows stay, EXPIRED)."""
    expired: list[tuple[Blobstore, type[Droplet] | type[Package], str, list[str]]] = [
        (ctx.blobstores.droplets, Droplet, DropletState.EXPIRED, ctx.payload.get("droplets", [])),
        (ctx.blobstores.packages, Package, PackageState.EXPIRED, ctx.payload.get("packages", [])),
    ]
    for bucket, model, state, guids in expired:
        bucket.delete_keys(guids)
        if guids:
            with ctx.db.session() as s:
                s.execute(
                    update(model)
                    .where(model.guid.in_(guids), model.state == state)
                    .values(sha1=None, sha256=None)
                    .execution_options(synchronize_session=False)
                )
                s.commit()
