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
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from ladle.blobstore import Blobstore, Blobstores
from ladle.blobstore.base import Digest
from ladle.clock import new_guid
from ladle.db.models import Droplet, Package
from ladle.db.states.machine import StateMachine
from ladle.jobs.executor import JobContext

__all__ = ["UploadedBits", "discard_upload", "fail_uploaded", "stash_upload", "taken_upload"]

Bits = TypeVar("Bits", Droplet, Package)
S = TypeVar("S", bound=StrEnum)


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


def fail_uploaded(
    ctx: JobContext, machine: StateMachine[Bits, S], store: Blobstore, *, processing: S, failed: S, **error: str
) -> None:
    """An upload job failed or was abandoned: its upload goes, the row ends FAILED with ``error``,
    and a blob stored just before the worker died goes too (nothing half kept)."""
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        moved = machine.move(s, guid, processing, failed, **error)
        s.commit()
    if moved:
        store.delete(guid)
    discard_upload(ctx)
