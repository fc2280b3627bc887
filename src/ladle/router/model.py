"""What a route table is made of: routes, the endpoints behind them, and a versioned snapshot.

These are the values a ``RouteSource`` hands the router. They are plain, immutable data so a
source can build them on any thread and the router can keep them without copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["LOAD_BALANCING_ALGORITHMS", "Endpoint", "Route", "Snapshot"]

ROUND_ROBIN = "round-robin"
LEAST_CONNECTION = "least-connection"
LOAD_BALANCING_ALGORITHMS = (ROUND_ROBIN, LEAST_CONNECTION)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One running app instance that can take requests: where it listens and who it is."""

    address: str
    port: int
    app_guid: str
    process_type: str = "web"
    instance_index: int = 0
    # A new one for every start of the instance (CF_INSTANCE_GUID), so a restarted instance on a
    # reused port is a different endpoint.
    instance_guid: str = ""

    @property
    def canonical_addr(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.address, self.port, self.instance_guid)


@dataclass(frozen=True, slots=True)
class Route:
    """A host name (and optional path prefix) and the endpoints that serve it.

    ``host`` is the whole name a client puts in ``Host``: ``myapp.apps.localhost``, or
    ``*.apps.localhost`` for a wildcard route, or just the domain for a route without a host.
    ``path`` is ``""`` or a prefix such as ``/api`` (matched on whole ``/`` segments).
    ``options`` are the route's CF options; ``loadbalancing`` is the one the router reads.
    """

    host: str
    path: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole table at one version. Versions only grow: a larger one is a later table."""

    version: int
    routes: tuple[Route, ...]
