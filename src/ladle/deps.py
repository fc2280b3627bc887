"""The long-lived parts a server is built from, assembled once in :func:`ladle.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ladle.auth.tokens import TokenIssuer, TokenVerifier
from ladle.auth.users import SeenUsers
from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.session import Database
from ladle.jobs.executor import Executor
from ladle.jobs.runner import JobRunner
from ladle.urls import Urls

__all__ = ["Deps"]


def _nothing() -> None:
    return None


@dataclass
class Deps:
    settings: Settings
    db: Database
    urls: Urls
    verifier: TokenVerifier
    # None when tokens come from an external UAA.
    issuer: TokenIssuer | None
    executor: Executor
    runner: JobRunner
    blobstores: Blobstores
    seen_users: SeenUsers = field(default_factory=SeenUsers)
    # Called after a commit that changed desired state (instances, versions, tasks, deployments),
    # so a runner can act at once instead of at its next poll. A no-op until a runner hangs on it.
    notify_desired_state: Callable[[], None] = _nothing
