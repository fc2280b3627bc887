"""The part of copying a package or a droplet that is the same for both: the blob, then the row.

The row reaches its final state only after the blob is in place, from COPYING and only from
it; a copy that lost the race to a delete removes the blob it just wrote.
"""

from __future__ import annotations

from ladle.blobstore import BlobNotFound, Blobstore
from ladle.db.models import Droplet, Package
from ladle.db.transitions import move_state
from ladle.errors import CFError
from ladle.jobs.executor import JobContext

__all__ = ["copy_bits", "fail_copy_state"]


def copy_bits(
    ctx: JobContext,
    store: Blobstore,
    model: type[Package] | type[Droplet],
    source_guid: str,
    *,
    done_state: str,
    **checksums: object,
) -> None:
    guid = ctx.resource_guid or ""
    try:
        store.copy(source_guid, guid)
    except BlobNotFound:
        raise CFError("UnprocessableEntity", f"source {model.__name__.lower()} has no bits") from None
    with ctx.db.session() as s:
        done = move_state(s, model, guid, "COPYING", state=done_state, **checksums)
        s.commit()
    if not done:
        store.delete(guid)  # deleted while copying: the blob belongs to no one


def fail_copy_state(ctx: JobContext, model: type[Package] | type[Droplet], error_field: str, reason: str) -> None:
    with ctx.db.session() as s:
        error = {error_field: f"failed to copy - {reason}"}
        move_state(s, model, ctx.resource_guid or "", "COPYING", state="FAILED", **error)
        s.commit()
