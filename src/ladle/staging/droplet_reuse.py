"""A restage whose droplet would hold the same files as an earlier droplet of the same app takes
that droplet's bits (a blob-store copy) instead of compressing them again.

Restaging an unchanged package is common (``cf restage`` after a new binding or variable, a
rolling restage) and packing is most of what it costs. The comparison is exact: the content
digest of the new tree (its tar stream, hashed without compressing) against the one each droplet
recorded when it was packed. Only the app's own STAGED droplets are candidates, so nothing is
shared across apps, and an expired or deleted droplet is never one; if its blob goes between the
look-up and the copy, the tree is packed as usual.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ladle.blobstore import BlobNotFound
from ladle.blobstore.base import Blobstore, Digest
from ladle.db.models import Droplet
from ladle.db.session import Database
from ladle.db.states.droplet import DropletState
from ladle.staging.droplet import tar_to_file

__all__ = ["Lookup", "Reused", "reuse_identical_droplet"]

log = logging.getLogger(__name__)

# Retention keeps a few droplets per app; the newest of them are the likely matches.
CANDIDATES = 20


@dataclass(frozen=True)
class Reused:
    earlier_guid: str
    digest: Digest
    content_sha256: str


@dataclass(frozen=True)
class Lookup:
    """What looking for an identical droplet leaves behind."""

    reused: Reused | None = None  # an earlier droplet's bits, stored under the new droplet's guid
    # On a miss: the tree's tar stream, written while it was hashed, for ``compress_file`` (so a
    # miss costs little more than packing would have: the tree is read once either way).
    tar: Path | None = None
    content_sha256: str | None = None


def reuse_identical_droplet(
    db: Database, droplets: Blobstore, *, app_guid: str, droplet_guid: str, root: Path, tar: Path
) -> Lookup:
    """Store under ``droplet_guid`` the bits of an earlier droplet of the app holding the same
    files as ``root``. The tree is read only when the app has a candidate at all (a first
    staging pays nothing for this); its tar stream then goes to ``tar``."""
    with db.session() as s:
        candidates = s.execute(
            select(Droplet.guid, Droplet.content_sha256, Droplet.sha1, Droplet.sha256, Droplet.size)
            .where(
                Droplet.app_guid == app_guid,
                Droplet.state == DropletState.STAGED,
                Droplet.content_sha256.is_not(None),
                Droplet.sha256.is_not(None),
                Droplet.guid != droplet_guid,
            )
            .order_by(Droplet.id.desc())
            .limit(CANDIDATES)
        ).all()
    if not candidates:
        return Lookup()
    content = tar_to_file(root, tar)
    for guid, candidate_content, sha1, sha256, size in candidates:
        if candidate_content != content or sha1 is None or sha256 is None or size is None:
            continue
        try:
            droplets.copy(guid, droplet_guid)
        except BlobNotFound:
            log.info("an identical droplet's blob went meanwhile", extra={"droplet": guid})
            continue
        tar.unlink(missing_ok=True)
        return Lookup(reused=Reused(guid, Digest(size, sha1, sha256), content))
    return Lookup(tar=tar, content_sha256=content)
