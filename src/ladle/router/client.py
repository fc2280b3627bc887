"""The router's side towards clients: one protocol object per accepted connection.

Requests are parsed with httptools (llhttp), which rejects malformed and ambiguous messages
(conflicting lengths, bad chunking, bad tokens); such a request gets a 400 and the connection
closes. Requests on one connection are answered in order: a pipelined request waits, with reading
paused, until the one before it has been answered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from ladle.router.exchange import Exchange
from ladle.router.responses import protocol_error

if TYPE_CHECKING:
    from ladle.router.server import Router

__all__ = ["ClientConnection"]

# Reasons reading from the client is paused; reading resumes when none is left.
PAUSE_PENDING = 1  # body waits for an upstream connection
PAUSE_UPSTREAM_FULL = 2  # the upstream's write buffer is full
PAUSE_QUEUED = 4  # a pipelined request waits for its turn
PAUSE_ENDING = 8  # the connection closes after the current response

MAX_HEADER_BYTES = 1024 * 1024  # Go's http.DefaultMaxHeaderBytes, gorouter's default
LINGER_SECONDS = 0.5  # Go's server waits as long before closing a connection it refused


class ClientConnection(asyncio.Protocol):
    __slots__ = (
        "closed",
        "current",
        "discarding",
        "head_bytes",
        "idle_sweeps",
        "ip",
        "ip_bytes",
        "parser",
        "parsing",
        "paused",
        "peer",
        "pipe",
        "queue",
        "raw",
        "refusal",
        "router",
        "transport",
        "writing_paused",
    )

    def __init__(self, router: Router) -> None:
        self.router = router
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set on connection_made
        self.parser = httptools.HttpRequestParser(self)
        self.parsing: Exchange | None = None
        self.current: Exchange | None = None
        self.queue: deque[Exchange] = deque()
        # After an upgrade request's head, the client's bytes are passed on raw to this exchange.
        self.raw: Exchange | None = None
        self.pipe: Exchange | None = None
        self.paused = 0
        self.writing_paused = False
        # Bytes fed to the parser since the current request began, until its head is complete.
        self.head_bytes = -1
        self.closed = False
        self.discarding = False
        self.refusal: bytes | None = None
        # Sweeps (once a second) this connection has been found idle in a row.
        self.idle_sweeps = 0
        self.peer = ""
        self.ip = ""
        self.ip_bytes = b""

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its interface.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.ip = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        self.ip_bytes = self.ip.encode()
        self.router.clients.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.router.clients.discard(self)
        current = self.current
        if current is not None:
            current.client_lost()

    def eof_received(self) -> bool | None:
        if self.pipe is not None:
            return self.pipe.pipe_eof_from_client()
        # As Go's server: a client that stops sending has gone, and its request with it
        # (connection_lost follows, which cancels what is in flight).
        return None

    def pause_writing(self) -> None:
        self.writing_paused = True
        exchange = self.current
        if exchange is not None and exchange.upstream is not None:
            exchange.upstream.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        exchange = self.current
        if exchange is not None and exchange.upstream is not None:
            exchange.upstream.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        if self.raw is not None:
            self.raw.raw_from_client(data)
            return
        if self.head_bytes >= 0:
            # A head still being read: bound it (llhttp itself would take any size).
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES:
                self.refuse(protocol_error(431))
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            exchange = self.parsing
            assert exchange is not None
            self.raw = exchange
            rest = data[upgrade.args[0] :]
            if rest:
                exchange.raw_from_client(rest)
        except httptools.HttpParserError:
            self.refuse(protocol_error(400))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.parsing = Exchange(self)
        self.head_bytes = max(self.head_bytes, 0)

    def on_url(self, url: bytes) -> None:
        self.parsing.target += url  # type: ignore[union-attr]

    def on_header(self, name: bytes, value: bytes) -> None:
        self.parsing.headers.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        exchange = self.parsing
        assert exchange is not None
        parser = self.parser
        exchange.method = parser.get_method()
        exchange.http10 = parser.get_http_version() == "1.0"
        exchange.keep_alive = parser.should_keep_alive()
        exchange.upgrade = parser.should_upgrade()
        exchange.headers_done()
        self.head_bytes = -1
        if self.current is None:
            self.current = exchange
            exchange.begin()
        else:
            self.queue.append(exchange)
            self.pause_reading(PAUSE_QUEUED)

    def on_body(self, body: bytes) -> None:
        exchange = self.parsing
        assert exchange is not None
        exchange.request_body(body)

    def on_message_complete(self) -> None:
        exchange = self.parsing
        assert exchange is not None
        exchange.request_complete()

    # Called by exchanges

    def pause_reading(self, reason: int) -> None:
        if not self.paused and not self.closed:
            self.transport.pause_reading()
        self.paused |= reason

    def resume_reading(self, reason: int) -> None:
        if self.paused & reason:
            self.paused &= ~reason
            if not self.paused and not self.closed:
                self.transport.resume_reading()

    def exchange_done(self, exchange: Exchange) -> None:
        if exchange is not self.current:
            return
        self.current = None
        if self.paused:
            self.resume_reading(PAUSE_PENDING | PAUSE_UPSTREAM_FULL)
        if self.closed:
            return
        if exchange.close_after or self.router.stopping:
            self._close(linger=not exchange.request_done)
            return
        if self.refusal is not None:
            self.transport.write(self.refusal)
            self._close(linger=True)
            return
        if self.queue:
            # Started from the loop, not from here, so a long pipeline cannot nest calls.
            self.router.loop.call_soon(self._next)
        else:
            self.idle_sweeps = 0

    def _next(self) -> None:
        if self.closed or self.current is not None or not self.queue:
            return
        exchange = self.queue.popleft()
        if not self.queue:
            self.resume_reading(PAUSE_QUEUED)
        self.current = exchange
        exchange.begin()

    def refuse(self, response: bytes) -> None:
        """A request that cannot be parsed: answer once the one in progress is done, and close."""
        current = self.current
        if current is None:
            self.transport.write(response)
            self._close(linger=True)
        elif not current.request_done:
            # The broken bytes belong to the request in progress: it cannot go on.
            current.client_broken(response)
        else:
            self.refusal = response
            self.queue.clear()
            self.pause_reading(PAUSE_ENDING)

    def _close(self, linger: bool = False) -> None:
        """Close after what is written has gone. ``linger`` when the client may still be sending:
        as Go's server, stop writing, read and drop for a moment, then close, so that unread
        bytes do not make the kernel reset the connection before the answer is read."""
        if not linger or self.closed:
            self.pause_reading(PAUSE_ENDING)
            self.transport.close()
            return
        self.raw = None
        self.discarding = True
        if self.paused:
            self.paused = 0
            self.transport.resume_reading()
        self.transport.write_eof()
        self.router.loop.call_later(LINGER_SECONDS, self.transport.close)
