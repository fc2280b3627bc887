"""Copying a package or a droplet: the same job for both, told by a :class:`BitsCopy` what it copies.

The blob is copied inside the store first; the row reaches its final state only after that,
from COPYING and only from it. A copy that lost the race to a delete removes the blob it just
wrote, and a copy that failed removes any blob it left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ladle.blobstore import BlobNotFound, Blobstore, Blobstores
from ladle.db.lookup import by_guid
from ladle.db.models import Droplet, Package
from ladle.db.states.machine import StateMachine
from ladle.errors import CFError
from ladle.jobs.executor import JobContext

__all__ = ["BitsCopy", "fail_copy", "run_copy"]

Bits = TypeVar("Bits", Droplet, Package)
S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class BitsCopy(Generic[Bits, S]):
    machine: StateMachine[Bits, S]
    bucket: Callable[[Blobstores], Blobstore]
    copying: S
    done: S
    failed: S
    # Where the row keeps its error text.
    error_field: str
    # The state the source must be in (None: any), and what to say when it is not usable.
    source_state: S | None
    unusable_source: str


def run_copy(ctx: JobContext, kind: BitsCopy[Bits, S]) -> None:
    guid, source_guid = ctx.resource_guid or "", ctx.payload["source_guid"]
    with ctx.db.session() as s:
        source = by_guid(s, kind.machine.model, source_guid)
        if source is None or (kind.source_state is not None and source.state != kind.source_state):
            raise CFError("UnprocessableEntity", kind.unusable_source)
        checksums = {"sha1": source.sha1, "sha256": source.sha256, "size": source.size}
    store = kind.bucket(ctx.blobstores)
    try:
        store.copy(source_guid, guid)
    except BlobNotFound:
        raise CFError("UnprocessableEntity", f"source {kind.machine.model.__name__.lower()} has no bits") from None
    with ctx.db.session() as s:
        moved = kind.machine.move(s, guid, kind.copying, kind.done, **checksums)
        s.commit()
    if not moved:
        store.delete(guid)  # deleted while copying: the blob belongs to no one


def fail_copy(ctx: JobContext, kind: BitsCopy[Bits, S], reason: str) -> None:
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        error = {kind.error_field: f"failed to copy - {reason}"}
        moved = kind.machine.move(s, guid, kind.copying, kind.failed, **error)
        s.commit()
    if moved:
        # A copy that finished just before the worker died belongs to no one.
        kind.bucket(ctx.blobstores).delete(guid)
