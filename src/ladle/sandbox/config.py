"""The operator's choices for sandboxes, taken from Ladle's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ladle.sandbox.cgroups import owner_prefix
from ladle.sandbox.identity import DEFAULT_SANDBOX_UID
from ladle.sandbox.network import EgressPolicy, Network, parse_networks

if TYPE_CHECKING:
    from ladle.config import Settings

__all__ = ["SandboxConfig"]


@dataclass(frozen=True)
class SandboxConfig:
    # False only by the operator's explicit choice (LADLE_STAGING_ISOLATION=false): user code then
    # runs as plain processes of Ladle's own user.
    isolate: bool = True
    uid: int = DEFAULT_SANDBOX_UID
    gid: int | None = None
    network: str = Network.ISOLATED
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    # The start of every staging jail's name (and so its cgroups'): this node's, so that its
    # start-up removes the cgroups a killed run left (``cgroups.remove_leftover_cgroups``).
    staging_prefix: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxConfig:
        return cls(
            isolate=settings.staging_isolation,
            uid=settings.sandbox_uid,
            gid=settings.sandbox_gid,
            network=settings.sandbox_network,
            staging_prefix=owner_prefix("s", settings.node_id),
            egress=EgressPolicy(
                denied=parse_networks(settings.sandbox_denied_networks),
                allowed=parse_networks(settings.sandbox_allowed_networks),
            ),
        )
