"""The long-lived parts a server is built from, assembled once in :func:`ladle.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ladle.auth.tokens import TokenIssuer, TokenVerifier
from ladle.auth.users import SeenUsers
from ladle.blobstore import Blobstores
from ladle.config import Settings
from ladle.db.session import Database
from ladle.jobs.executor import Executor
from ladle.jobs.runner import JobRunner
from ladle.runner.base import Runner
from ladle.urls import Urls

__all__ = ["Deps"]


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
    # Runs app instances and tasks (None on a node that runs none).
    app_runner: Runner | None = None
    seen_users: SeenUsers = field(default_factory=SeenUsers)
