"""The part of copying a package or a droplet that is the same for both: the blob, then the row.

The row reaches its final state only after the blob is in place, from COPYING and only from
it; a copy that lost the race to a delete removes the blob it just wrote.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from ladle.blobstore import BlobNotFound, Blobstore
from ladle.db.models import Droplet, Package
from ladle.db.states.machine import StateMachine
from ladle.errors import CFError
from ladle.jobs.executor import JobContext

__all__ = ["copy_bits", "fail_copy_state"]

Bits = TypeVar("Bits", Droplet, Package)
S = TypeVar("S", bound=StrEnum)


def copy_bits(
    ctx: JobContext,
    store: Blobstore,
    machine: StateMachine[Bits, S],
    source_guid: str,
    *,
    copying: S,
    done: S,
    **checksums: object,
) -> None:
    guid = ctx.resource_guid or ""
    try:
        store.copy(source_guid, guid)
    except BlobNotFound:
        raise CFError("UnprocessableEntity", f"source {machine.model.__name__.lower()} has no bits") from None
    with ctx.db.session() as s:
        moved = machine.move(s, guid, copying, done, **checksums)
        s.commit()
    if not moved:
        store.delete(guid)  # deleted while copying: the blob belongs to no one


def fail_copy_state(
    ctx: JobContext,
    store: Blobstore,
    machine: StateMachine[Bits, S],
    *,
    copying: S,
    failed: S,
    error_field: str,
    reason: str,
) -> None:
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        error = {error_field: f"failed to copy - {reason}"}
        moved = machine.move(s, guid, copying, failed, **error)
        s.commit()
    if moved:
        store.delete(guid)  # a copy that finished just before the worker died belongs to no one
