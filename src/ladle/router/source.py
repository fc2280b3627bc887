"""Where the router's table comes from: the ``RouteSource`` protocol and two real sources.

The router polls a source (``reloader.py``): ``version()`` every interval, ``snapshot()`` only
when the version moved. Both are called on a worker thread, never on the event loop, so a
source may block (a database query is fine); ``version()`` should stay cheap.

The database-backed source (written when the routes and instances tables exist) implements the
same two methods:

- ``version()``: an integer that grows whenever anything the table is made of changes (a route,
  a destination, an instance becoming RUNNING or going away). A counter row bumped in the same
  transaction as each change is the simplest honest choice. The runner reads the value it bumped
  to, and waits until the router reports that version applied (``status.py``).
- ``snapshot()``: ``Snapshot(version, routes)`` with one ``Route`` per http route that has at least
  one RUNNING instance among its destinations: ``host`` = ``"<route host>.<domain name>"`` (just
  the domain name when the route host is empty, ``"*.<domain>"`` for host ``*``), ``path`` = the
  route's path (``""`` or ``/prefix``), ``options`` = the route's options, and an ``Endpoint`` per
  RUNNING instance of each destination's app and process type (host address, host port, app guid,
  process type, index, instance guid). Read the version in the same transaction as the rows, so
  the snapshot is never newer than it says.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from ladle.router.model import LOAD_BALANCING_ALGORITHMS, Endpoint, Route, Snapshot

__all__ = ["FileRouteSource", "RouteSource", "RouteSourceError", "StaticRouteSource", "routes_from_document"]


class RouteSourceError(ValueError):
    """A route table that cannot be used (bad file, bad field)."""


class RouteSource(Protocol):
    def version(self) -> int:
        """The current table version; cheap, called every poll interval from a worker thread."""
        ...

    def snapshot(self) -> Snapshot:
        """The whole table and the version it was read at; called from a worker thread."""
        ...


class StaticRouteSource:
    """Routes held in memory, replaced as a whole. Thread-safe; used by tests and by embedders."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._lock = threading.Lock()
        self._snapshot = Snapshot(1, tuple(routes))

    def replace(self, routes: Iterable[Route]) -> int:
        """Swap in a new table; returns its version (wait for the router to apply it)."""
        with self._lock:
            self._snapshot = Snapshot(self._snapshot.version + 1, tuple(routes))
            return self._snapshot.version

    def version(self) -> int:
        return self._snapshot.version

    def snapshot(self) -> Snapshot:
        return self._snapshot


class FileRouteSource:
    """Routes from a JSON or YAML file, re-read when the file changes (``ladle router --routes``).

    The file holds ``{"routes": [{"host", "path"?, "options"?, "endpoints": [{"address"?, "port",
    "app_guid", "process_type"?, "instance_index"?, "instance_guid"?}]}]}``. A file that fails to
    parse after start-up keeps the previous table (and ``last_error`` says why).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._content: tuple[Route, ...] | None = None
        self._version = 0
        self.last_error: str | None = None
        self._refresh(strict=True)

    def _refresh(self, strict: bool) -> None:
        with self._lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                if stamp == self._stamp:
                    return
                routes = routes_from_document(yaml.safe_load(self.path.read_text()))
            except (OSError, yaml.YAMLError, RouteSourceError) as exc:
                if strict:
                    raise RouteSourceError(f"{self.path}: {exc}") from None
                self.last_error = f"{self.path}: {exc}"
                return
            self._stamp = stamp
            self.last_error = None
            if routes != self._content:
                self._content = routes
                self._version += 1

    def version(self) -> int:
        self._refresh(strict=False)
        return self._version

    def snapshot(self) -> Snapshot:
        self._refresh(strict=False)
        with self._lock:
            return Snapshot(self._version, self._content or ())


def routes_from_document(document: object) -> tuple[Route, ...]:
    """Routes from parsed JSON/YAML (see ``FileRouteSource``), checked field by field."""
    if document is None:
        return ()
    if not isinstance(document, Mapping) or not isinstance(document.get("routes", []), list):
        raise RouteSourceError('expected {"routes": [...]}')
    return tuple(_route(item, n) for n, item in enumerate(document.get("routes", [])))


def _route(item: object, n: int) -> Route:
    where = f"routes[{n}]"
    if not isinstance(item, Mapping):
        raise RouteSourceError(f"{where}: not an object")
    host = _field(item, "host", str, where)
    path = _field(item, "path", str, where, "")
    if path and not path.startswith("/"):
        raise RouteSourceError(f"{where}.path: must start with /")
    options = _field(item, "options", dict, where, {})
    balancing = options.get("loadbalancing")
    if balancing is not None and balancing not in LOAD_BALANCING_ALGORITHMS:
        raise RouteSourceError(f"{where}.options.loadbalancing: one of {', '.join(LOAD_BALANCING_ALGORITHMS)}")
    endpoints = _field(item, "endpoints", list, where, [])
    return Route(
        host=host,
        path=path,
        options={str(k): str(v) for k, v in options.items()},
        endpoints=tuple(_endpoint(e, f"{where}.endpoints[{i}]") for i, e in enumerate(endpoints)),
    )


def _endpoint(item: object, where: str) -> Endpoint:
    if not isinstance(item, Mapping):
        raise RouteSourceError(f"{where}: not an object")
    port = _field(item, "port", int, where)
    if not 0 < port < 65536:
        raise RouteSourceError(f"{where}.port: out of range")
    return Endpoint(
        address=_field(item, "address", str, where, "127.0.0.1"),
        port=port,
        app_guid=_field(item, "app_guid", str, where),
        process_type=_field(item, "process_type", str, where, "web"),
        instance_index=_field(item, "instance_index", int, where, 0),
        instance_guid=_field(item, "instance_guid", str, where, ""),
    )


def _field(item: Mapping[str, Any], name: str, kind: type[Any], where: str, default: Any = ...) -> Any:
    if name not in item:
        if default is ...:
            raise RouteSourceError(f"{where}.{name}: missing")
        return default
    value = item[name]
    # bool is an int in Python; a port of `true` is still a mistake.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RouteSourceError(f"{where}.{name}: expected {kind.__name__}")
    return value


def dump_routes(routes: Iterable[Route]) -> str:
    """The file form of ``routes`` (what ``FileRouteSource`` reads)."""
    return json.dumps(
        {
            "routes": [
                {
                    "host": r.host,
                    "path": r.path,
                    "options": dict(r.options),
                    "endpoints": [
                        {
                            "address": e.address,
                            "port": e.port,
                            "app_guid": e.app_guid,
                            "process_type": e.process_type,
                            "instance_index": e.instance_index,
                            "instance_guid": e.instance_guid,
                        }
                        for e in r.endpoints
                    ],
                }
                for r in routes
            ]
        },
        indent=2,
    )
