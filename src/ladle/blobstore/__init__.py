"""Blob stores: one per kind of blob, each behind the :class:`Blobstore` contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ladle.blobstore.base import (
    BlobEntry,
    BlobNotFound,
    Blobstore,
    Digest,
    Download,
    Redirect,
    StreamedBlob,
)
from ladle.blobstore.local import LocalBlobstore

__all__ = [
    "BlobEntry",
    "BlobNotFound",
    "Blobstore",
    "Blobstores",
    "Digest",
    "Download",
    "Redirect",
    "StreamedBlob",
    "local_blobstores",
]


@dataclass(frozen=True)
class Blobstores:
    """The buckets Cloud Controller keeps (packages, droplets, buildpacks, the resource pool,
    per-app buildpack caches), and Ladle's own for uploads on their way to a job."""

    packages: Blobstore
    droplets: Blobstore
    buildpacks: Blobstore
    resources: Blobstore
    buildpack_cache: Blobstore
    # Uploaded files a job has yet to take, so any node can run the job.
    uploads: Blobstore

    def all(self) -> tuple[Blobstore, ...]:
        return (self.packages, self.droplets, self.buildpacks, self.resources, self.buildpack_cache, self.uploads)

    def recover(self) -> int:
        return sum(store.recover() for store in self.all())

    def sweep_temporaries(self, older_than: timedelta) -> int:
        return sum(store.sweep_temporaries(older_than) for store in self.all())


def local_blobstores(root: Path, node: str = "local") -> Blobstores:
    def bucket(name: str) -> LocalBlobstore:
        return LocalBlobstore(root / name, node)

    return Blobstores(
        packages=bucket("packages"),
        droplets=bucket("droplets"),
        buildpacks=bucket("buildpacks"),
        resources=bucket("resources"),
        buildpack_cache=bucket("buildpack_cache"),
        uploads=bucket("uploads"),
    )
