"""What request handlers reach: the node's services, and the parts only the web layer needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ladle.auth.tokens import TokenIssuer, TokenVerifier
from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.session import Database
from ladle.db.users import SeenUsers
from ladle.jobs.executor import Executor
from ladle.services import Services
from ladle.urls import Urls

__all__ = ["Deps"]


def _nothing() -> None:
    return None


@dataclass
class Deps:
    services: Services
    urls: Urls
    verifier: TokenVerifier
    # None when tokens come from an external UAA.
    issuer: TokenIssuer | None
    seen_users: SeenUsers = field(default_factory=SeenUsers)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def blobstores(self) -> Blobstores:
        return self.services.blobstores

    @property
    def executor(self) -> Executor:
        return self.services.executor

    # Called after a commit that changed desired state (instances, versions, tasks, deployments),
    # so a runner can act at once instead of at its next poll. A no-op until a runner hangs on it.
    notify_desired_state: Callable[[], None] = _nothing
