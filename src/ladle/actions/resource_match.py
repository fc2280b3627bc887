"""Which of a client's files the platform already has in its resource pool."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.package_upload import resource_pool
from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.feature_flags import get_flag
from ladle.messages.package_upload import Fingerprint

__all__ = ["match_resources"]


def match_resources(
    session: Session, settings: Settings, blobstores: Blobstores, fingerprints: list[Fingerprint]
) -> list[Fingerprint]:
    """The fingerprints the pool can supply (none while ``resource_matching`` is off)."""
    flag = get_flag(session, "resource_matching")
    if flag is None or not flag.enabled:
        return []
    pool = resource_pool(settings, blobstores)
    return [f for f in fingerprints if pool.matchable(f.sha1, f.size) and pool.has(f.sha1)]
