"""Ladle's HTTP router (gorouter's role): forwards requests by ``Host`` to app instances.

Public interface:

- ``serve(settings, source, access_log=None)``: run the router in this process until SIGTERM.
- ``Router``: the same on a running asyncio loop (``async with Router(source, port=...)``).
- ``RouteSource``: where the table comes from (``version()``, ``snapshot()``), with
  ``StaticRouteSource`` (in memory) and ``FileRouteSource`` (JSON/YAML file) as real sources.
- ``Route``, ``Endpoint``, ``Snapshot``: what a source returns.
- ``AccessLogSink``, ``AccessLogRecord``, ``format_access_log``: per-request records and the
  gorouter line format for ``RTR`` log lines; ``AccessLogPipe`` runs a sink in a process of its
  own, off the data plane's GIL.
- ``wait_for_router(url, version, drained=...)``: block until the router applied a table change.
"""

from ladle.router.access_log import AccessLogPipe, AccessLogRecord, AccessLogSink, format_access_log
from ladle.router.model import Endpoint, Route, Snapshot
from ladle.router.server import Router, serve
from ladle.router.source import FileRouteSource, RouteSource, RouteSourceError, StaticRouteSource
from ladle.router.status import STATUS_HOST, RouterNotReady, wait_for_router

__all__ = [
    "STATUS_HOST",
    "AccessLogPipe",
    "AccessLogRecord",
    "AccessLogSink",
    "Endpoint",
    "FileRouteSource",
    "Route",
    "RouteSource",
    "RouteSourceError",
    "Router",
    "RouterNotReady",
    "Snapshot",
    "StaticRouteSource",
    "format_access_log",
    "serve",
    "wait_for_router",
]
