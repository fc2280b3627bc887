"""The compiled route table: host and path lookup as gorouter does it, and endpoint choice.

A table is built from a ``Snapshot`` and never changed afterwards; the reloader swaps in a new
one. Only routes with at least one endpoint are in it, as gorouter's registry holds only live
endpoints, so a route whose instances are all gone answers like an unknown route.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from ladle.router.model import LEAST_CONNECTION, Endpoint, Snapshot
from ladle.router.upstream import EndpointState

__all__ = ["HostRoutes", "RoutePool", "RouteTable", "compile_table"]


class RoutePool:
    """The endpoints of one route and the balancing state between them."""

    __slots__ = ("_next", "cookie_path", "endpoints", "host", "least_connection", "path")

    def __init__(self, host: str, path: str, endpoints: Sequence[EndpointState], least_connection: bool) -> None:
        self.host = host
        self.path = path
        self.endpoints = tuple(endpoints)
        self.least_connection = least_connection
        # gorouter's "context path": where the sticky-session cookie applies.
        self.cookie_path = (path or "/").encode("latin-1")
        # A random start, so that a table swap does not send the next request of every route to
        # its first endpoint.
        self._next = random.randrange(len(self.endpoints)) if self.endpoints else 0

    def pick(self, tried: Sequence[EndpointState] = ()) -> EndpointState | None:
        """The next endpoint to try, skipping ``tried`` ones; endpoints that failed recently are
        used only when nothing else is left. ``None`` when every endpoint was tried."""
        eps = self.endpoints
        n = len(eps)
        start = self._next
        fallback: EndpointState | None = None
        best: EndpointState | None = None
        now = 0.0
        for i in range(n):
            idx = start + i
            if idx >= n:
                idx -= n
            e = eps[idx]
            if tried and e in tried:
                continue
            if e.failed_until:
                now = now or time.monotonic()
                if e.failed_until > now:
                    fallback = fallback or e
                    continue
            if not self.least_connection:
                self._next = idx + 1 if idx + 1 < n else 0
                return e
            if best is None or e.in_flight < best.in_flight:
                best = e
        if best is not None:
            # Ties go round: the next pick starts after this one.
            self._next = (eps.index(best) + 1) % n
            return best
        return fallback

    def by_instance_guid(self, guid: str) -> EndpointState | None:
        """The endpoint a sticky session asks for, if it is still here and not failing."""
        for e in self.endpoints:
            if e.endpoint.instance_guid == guid:
                return None if e.failed_until > time.monotonic() else e
        return None

    def instance(self, app_guid: str, index: int) -> EndpointState | None:
        """The endpoint of one app instance (``X-CF-APP-INSTANCE``)."""
        for e in self.endpoints:
            if e.endpoint.instance_index == index and e.endpoint.app_guid == app_guid:
                return e
        return None


class HostRoutes:
    """The routes of one host name: the one without a path and those with path prefixes."""

    __slots__ = ("by_path", "max_depth", "root")

    def __init__(self) -> None:
        self.root: RoutePool | None = None
        self.by_path: dict[str, RoutePool] = {}
        self.max_depth = 0

    def match(self, path: bytes) -> RoutePool | None:
        """Longest prefix on whole segments of the raw path (case-insensitive, as gorouter)."""
        if not self.max_depth:
            return self.root
        parts = path.decode("latin-1").lower().rstrip("/").split("/", self.max_depth + 1)
        for depth in range(min(len(parts) - 1, self.max_depth), 0, -1):
            pool = self.by_path.get("/".join(parts[: depth + 1]))
            if pool is not None:
                return pool
        return self.root


class RouteTable:
    __slots__ = ("has_wildcards", "hosts", "states", "version")

    def __init__(
        self, version: int, hosts: dict[str, HostRoutes], states: dict[tuple[str, int, str], EndpointState]
    ) -> None:
        self.version = version
        self.hosts = hosts
        self.has_wildcards = any(h.startswith("*.") for h in hosts)
        # Every endpoint in this table, by key.
        self.states = states

    def lookup(self, host: str, path: bytes) -> RoutePool | None:
        """The pool for a lower-cased host (no port) and a raw path without query: the host
        itself first, then ``*.<parent>`` wildcards from the nearest parent up, as gorouter."""
        routes = self.hosts.get(host)
        if routes is not None:
            pool = routes.match(path)
            if pool is not None:
                return pool
        if not self.has_wildcards:
            return None
        rest = host
        while (dot := rest.find(".")) >= 0:
            rest = rest[dot + 1 :]
            routes = self.hosts.get("*." + rest)
            if routes is not None:
                pool = routes.match(path)
                if pool is not None:
                    return pool
        return None


def _normal_path(path: str) -> str:
    return path.lower().rstrip("/")


def compile_table(snapshot: Snapshot, state_for: Callable[[Endpoint], EndpointState]) -> RouteTable:
    """Build the table; ``state_for`` gives the runtime state of an endpoint (kept across
    tables, so in-flight counts and pooled connections survive a swap)."""
    grouped: dict[tuple[str, str], tuple[bool, dict[tuple[str, int, str], EndpointState]]] = {}
    states: dict[tuple[str, int, str], EndpointState] = {}
    for route in snapshot.routes:
        if not route.endpoints:
            continue
        key = (route.host.lower().rstrip("."), _normal_path(route.path))
        least = route.options.get("loadbalancing") == LEAST_CONNECTION
        _, members = grouped.setdefault(key, (least, {}))
        for endpoint in route.endpoints:
            state = states.get(endpoint.key)
            if state is None:
                state = states[endpoint.key] = state_for(endpoint)
            members.setdefault(endpoint.key, state)
    hosts: dict[str, HostRoutes] = {}
    for (host, path), (least, members) in grouped.items():
        pool = RoutePool(host, path, list(members.values()), least)
        routes = hosts.setdefault(host, HostRoutes())
        if not path:
            routes.root = pool
        else:
            routes.by_path[path] = pool
            routes.max_depth = max(routes.max_depth, path.count("/"))
    return RouteTable(snapshot.version, hosts, states)
