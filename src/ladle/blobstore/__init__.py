"""Blob stores: one per kind of blob, chosen by configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ladle.blobstore.base import BlobEntry, BlobNotFound, Blobstore, Digest
from ladle.blobstore.local import LocalBlobstore

__all__ = ["BlobEntry", "BlobNotFound", "Blobstore", "Blobstores", "Digest", "local_blobstores"]


@dataclass(frozen=True)
class Blobstores:
    """The buckets Cloud Controller keeps: packages, droplets, buildpacks, the resource pool,
    and per-app buildpack caches."""

    packages: Blobstore
    droplets: Blobstore
    buildpacks: Blobstore
    resources: Blobstore
    buildpack_cache: Blobstore

    def all(self) -> tuple[Blobstore, ...]:
        return (self.packages, self.droplets, self.buildpacks, self.resources, self.buildpack_cache)

    def recover(self) -> int:
        return sum(store.recover() for store in self.all())


def local_blobstores(root: Path) -> Blobstores:
    return Blobstores(
        packages=LocalBlobstore(root / "packages"),
        droplets=LocalBlobstore(root / "droplets"),
        buildpacks=LocalBlobstore(root / "buildpacks"),
        resources=LocalBlobstore(root / "resources"),
        buildpack_cache=LocalBlobstore(root / "buildpack_cache"),
    )
