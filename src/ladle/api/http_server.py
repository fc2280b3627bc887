"""The HTTP server in front of the API: uvicorn, with the limits a hostile client meets.

uvicorn's httptools protocol buffers request lines and headers without any bound and waits
forever for a connection that never sends a request. :func:`bounded_protocol` adds both bounds:
more than ``max_header_bytes`` of request line and headers is answered 431, in the CF envelope,
and a connection whose request headers have not all arrived ``header_timeout`` seconds after it
opened (or after its request began) is closed. The body's pace is checked by the routes
(``api/body.py``), where the request is known.
"""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ladle.config import Settings
from ladle.errors import CFError, render_error

__all__ = ["bounded_protocol", "raise_open_files_limit", "uvicorn_config"]

_REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}


class _HeadersTooLarge(Exception):
    pass


def bounded_protocol(max_header_bytes: int, header_timeout: float) -> type[HttpToolsProtocol]:
    """An httptools protocol that bounds the size and the arrival time of request headers."""

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _header_bytes = 0
        _too_large = False
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._arm()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def _count(self, size: int) -> None:
            self._header_bytes += size
            if self._header_bytes > max_header_bytes:
                # httptools turns this into HttpParserError; uvicorn then calls send_400_response.
                self._too_large = True
                raise _HeadersTooLarge

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_overdue)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_overdue(self) -> None:
            # A request already running keeps its connection: only a request still sending its
            # headers (or a connection that never sent one) is dropped.
            self._header_timer = None
            if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            error = CFError("HeadersTooLarge") if self._too_large else CFError("InvalidRequest")
            body = json.dumps(render_error([error]), separators=(",", ":")).encode()
            head = [b"HTTP/1.1 %d %s\r\n" % (error.status, _REASONS.get(error.status, b""))]
            head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
            head += [
                b"content-type: application/json; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    return BoundedHttpToolsProtocol


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """How ``ladle serve`` (and the tests' servers) run the ASGI app."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "http": bounded_protocol(settings.max_header_bytes, settings.header_timeout),
        "timeout_keep_alive": settings.keep_alive_timeout,
        "timeout_graceful_shutdown": 5,
    }
    return uvicorn.Config(app, **{**options, **overrides})


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; returns the new limit.

    Every client connection is a descriptor: the usual soft limit (1024) would let a thousand idle
    connections stop the server accepting any other.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
