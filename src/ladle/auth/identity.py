"""Who is calling: what a verified token says about its bearer."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADMIN",
    "ADMIN_READ_ONLY",
    "BUILD_STATE_UPDATER",
    "GLOBAL_AUDITOR",
    "READ",
    "WRITE",
    "Identity",
]

ADMIN = "cloud_controller.admin"
ADMIN_READ_ONLY = "cloud_controller.admin_read_only"
GLOBAL_AUDITOR = "cloud_controller.global_auditor"
READ = "cloud_controller.read"
WRITE = "cloud_controller.write"
BUILD_STATE_UPDATER = "cloud_controller.update_build_state"

READ_SCOPES = frozenset({ADMIN, ADMIN_READ_ONLY, GLOBAL_AUDITOR, READ})
WRITE_SCOPES = frozenset({ADMIN, WRITE})


@dataclass(frozen=True)
class Identity:
    """The bearer of a valid token. Client tokens use the client id as the user guid, as CC does."""

    user_guid: str
    username: str | None
    email: str | None
    origin: str | None
    client_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: int

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    @property
    def reads_globally(self) -> bool:
        return bool(self.scopes & {ADMIN, ADMIN_READ_ONLY, GLOBAL_AUDITOR})

    def may_read(self) -> bool:
        return bool(self.scopes & READ_SCOPES)

    def may_write(self) -> bool:
        return bool(self.scopes & WRITE_SCOPES)
