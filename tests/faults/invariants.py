"""What must hold after a server was SIGKILLed and started again, read from its database, its
data directory, /proc and the cgroup tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ladle.blobstore import local_blobstores
from ladle.blobstore.base import BlobNotFound, Blobstore
from ladle.config import Settings
from ladle.db.models import Droplet, Job, Package
from ladle.db.states.droplet import DropletState
from ladle.db.states.package import PackageState
from ladle.sandbox.cgroups import CGROUP_V1, owner_prefix
from tests.support.waiting import wait_until

__all__ = ["CGROUPS_AVAILABLE", "assert_settled", "cgroups_of", "wait_settled"]

# Whether this machine lets Ladle make cgroups (cgroup v1 and root): jails have them only then.
CGROUPS_AVAILABLE = (CGROUP_V1 / "memory" / "cgroup.procs").exists() and os.geteuid() == 0
TRANSITIONAL_PACKAGES = {PackageState.PROCESSING_UPLOAD, PackageState.COPYING}
TRANSITIONAL_DROPLETS = {DropletState.PROCESSING_UPLOAD, DropletState.COPYING, DropletState.STAGING}


def cgroups_of(data_dir: Path, kind: str) -> set[Path]:
    """The cgroup directories of one server's jails of one kind (``s`` stagings, ``n`` instances)."""
    prefix = owner_prefix(kind, Settings(data_dir=data_dir).node_id)
    found: set[Path] = set()
    for controller in ("memory", "pids"):
        base = CGROUP_V1 / controller / "ladle"
        if base.is_dir():
            found.update(p for p in base.iterdir() if p.is_dir() and p.name.startswith(prefix))
    return found


def _sha256(store: Blobstore, key: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with store.open(key) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except BlobNotFound:
        return None
    return digest.hexdigest()


def _transitional(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as s:
            packages = s.scalars(select(Package.guid).where(Package.state.in_(TRANSITIONAL_PACKAGES))).all()
            droplets = s.scalars(select(Droplet.guid).where(Droplet.state.in_(TRANSITIONAL_DROPLETS))).all()
            jobs = s.scalars(select(Job.guid).where(Job.state == "PROCESSING")).all()
            return [
                *(f"package {g}" for g in packages),
                *(f"droplet {g}" for g in droplets),
                *(f"job {g}" for g in jobs),
            ]
    finally:
        engine.dispose()


def wait_settled(database_url: str, timeout: float = 60) -> None:
    """Every package, droplet and job left mid-way by the kill reaches an end state."""
    wait_until(
        lambda: not _transitional(database_url),
        timeout=timeout,
        interval=0.25,
        message=lambda: f"still transitional: {_transitional(database_url)}",
    )


def assert_settled(data_dir: Path, database_url: str) -> None:
    """No resource points at a missing or partial blob, nothing is transitional, no scratch is left."""
    assert _transitional(database_url) == []
    stores = local_blobstores(data_dir / "blobs")
    engine = create_engine(database_url)
    wrong = []
    try:
        with Session(engine) as s:
            for package in s.scalars(
                select(Package).where(Package.state == PackageState.READY, Package.type == "bits")
            ):
                if _sha256(stores.packages, package.guid) != package.sha256:
                    wrong.append(f"READY package {package.guid}: blob missing or not what its checksum says")
            for droplet in s.scalars(select(Droplet).where(Droplet.state == DropletState.STAGED)):
                if droplet.lifecycle_type != "docker" and _sha256(stores.droplets, droplet.guid) != droplet.sha256:
                    wrong.append(f"STAGED droplet {droplet.guid}: blob missing or not what its checksum says")
    finally:
        engine.dispose()
    assert wrong == []
    scratch = [p for p in (data_dir / "tmp").rglob("*") if p.is_file()] if (data_dir / "tmp").exists() else []
    assert scratch == []
