"""Uploaded files on their way from the request that received them to the job that uses them.

The request spools the file to this node's scratch space (hashing it on the way), then hands it
to the uploads bucket of the blob store: with the local store that is a rename, with a remote
store an upload. The job names the blob, not a path, so any node can run it; the job takes the
blob back as a local file (again a rename when it runs where the upload landed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladle.blobstore import Blobstores
from ladle.blobstore.base import Digest
from ladle.clock import new_guid
from ladle.jobs.executor import JobContext

__all__ = ["UploadedBits", "discard_upload", "stash_upload", "taken_upload"]


@dataclass(frozen=True)
class UploadedBits:
    """A file received with a request, spooled on this node with its checksums."""

    path: Path
    digest: Digest


def stash_upload(blobstores: Blobstores, bits: UploadedBits) -> dict[str, Any]:
    """Move the file into the uploads bucket; returns the job payload entries that name it."""
    key = new_guid()
    blobstores.uploads.put_file(key, bits.path, digest=bits.digest, move=True)
    digest = bits.digest
    return {"upload": key, "size": digest.size, "sha1": digest.sha1, "sha256": digest.sha256}


@contextmanager
def taken_upload(ctx: JobContext) -> Iterator[tuple[Path, Digest]]:
    """The job's upload as a local file the job owns (it may move it into another store), with
    the checksums taken when it was received. Raises BlobNotFound if it is gone."""
    payload = ctx.payload
    with ctx.blobstores.uploads.take_local(payload["upload"]) as path:
        yield path, Digest(payload["size"], payload["sha1"], payload["sha256"])


def discard_upload(ctx: JobContext) -> None:
    """The job failed: its upload, if still there, is of no use to anyone."""
    if ctx.payload.get("upload"):
        ctx.blobstores.uploads.delete(ctx.payload["upload"])
