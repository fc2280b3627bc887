"""The router's side towards app instances: per-endpoint state, pooled connections, responses.

An ``EndpointState`` lives as long as its endpoint is in the table or still has requests in
flight; it holds the idle keep-alive connections to that endpoint. An ``UpstreamConnection`` is
one TCP connection to an instance: it parses the responses (httptools) and hands them to the
``Exchange`` it currently serves.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import httptools

from ladle.router.model import Endpoint
from ladle.router.responses import BODY_CHUNKED

if TYPE_CHECKING:
    from ladle.router.exchange import Exchange

__all__ = ["EndpointState", "UpstreamConnection"]

# Idle connections kept per endpoint (gorouter keeps 100 in all; apps see few routers).
MAX_IDLE_PER_ENDPOINT = 64


class EndpointState:
    """Runtime state of one endpoint, kept across table swaps."""

    __slots__ = (
        "addr",
        "endpoint",
        "failed_until",
        "header_lines",
        "idle",
        "in_flight",
        "instance_guid",
        "key",
        "live",
        "log_fields",
    )

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.key = endpoint.key
        self.addr = endpoint.canonical_addr
        self.instance_guid = endpoint.instance_guid.encode("latin-1", "replace")
        self.in_flight = 0
        # A dial failure keeps the endpoint out of rotation until then (time.monotonic()), while
        # others are left; the table, not this mark, decides whether it exists.
        self.failed_until = 0.0
        self.idle: list[UpstreamConnection] = []
        self.live = True
        # What an access-log record says of the endpoint, as plain values (records cross to the
        # log writer's process as they are).
        self.log_fields = (
            self.addr,
            endpoint.app_guid,
            str(endpoint.instance_index),
            endpoint.instance_guid,
            endpoint.process_type,
        )
        # The headers gorouter sets per endpoint, encoded once.
        self.header_lines = (
            f"X-CF-ApplicationID: {endpoint.app_guid}\r\n"
            f"X-CF-InstanceIndex: {endpoint.instance_index}\r\n"
            f"X-CF-InstanceID: {endpoint.instance_guid or self.addr}\r\n"
        ).encode("latin-1", "replace")

    def take_idle(self) -> UpstreamConnection | None:
        """The most recently used idle connection that is still open (warm and least likely to
        have been closed by the app's own keep-alive timeout)."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.open:
                return conn
        return None

    def put_idle(self, conn: UpstreamConnection) -> None:
        if self.live and conn.open and len(self.idle) < MAX_IDLE_PER_ENDPOINT:
            conn.idle_sweeps = 0
            if conn.reading_paused:
                # Idle, it must read: to notice the app closing it, and to hear its next answer.
                conn.resume_reading()
            self.idle.append(conn)
        else:
            conn.close()

    def close_idle(self, max_sweeps: int | None = None) -> None:
        """Close idle connections: all, or those found idle by more than ``max_sweeps``."""
        keep = []
        for conn in self.idle:
            conn.idle_sweeps += 1
            if max_sweeps is not None and conn.idle_sweeps <= max_sweeps and conn.open:
                keep.append(conn)
            else:
                conn.close()
        self.idle = keep


class UpstreamConnection(asyncio.Protocol):
    """One connection to an instance. Between requests it sits in its endpoint's idle list."""

    __slots__ = (
        "complete",
        "exchange",
        "extra",
        "head_only",
        "headers",
        "idle_sweeps",
        "open",
        "parser",
        "piping",
        "reading_paused",
        "reason",
        "state",
        "transport",
    )

    def __init__(self, state: EndpointState) -> None:
        self.state = state
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set on connection_made
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: Exchange | None = None
        self.open = False
        self.idle_sweeps = 0
        self.reason = b""
        # The response's header lines; after its head, its trailers.
        self.headers: list[tuple[bytes, bytes]] = []
        # Set by on_message_complete; the exchange finishes once feed_data has returned.
        self.complete = False
        # Bytes after a complete response: the connection cannot be trusted again.
        self.extra = False
        # The request was HEAD: the response ends with its head whatever it announces.
        self.head_only = False
        self.piping = False
        # Paused while the client cannot take more of the response.
        self.reading_paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its interface.
        self.transport = cast(asyncio.Transport, transport)
        self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        exchange = self.exchange
        if exchange is not None:
            exchange.upstream_lost(self, exc)

    def eof_received(self) -> bool | None:
        exchange = self.exchange
        if exchange is not None and self.piping:
            return exchange.pipe_eof_from_upstream()
        return None

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.client.pause_reading(2)

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.client.resume_reading(2)

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            # An idle connection must stay silent; whatever this is, the connection is done.
            self.close()
            return
        if self.piping:
            exchange.pipe_from_upstream(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            exchange.flush()
            exchange.upstream_upgraded(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError as exc:
            exchange.flush()
            exchange.upstream_broken(self, f"malformed HTTP response ({exc})")
            return
        exchange.flush()
        if self.complete:
            self.complete = False
            trailers = self.headers
            if trailers:
                self.headers = []
            exchange.response_complete(trailers)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:
            self.extra = True
        if self.headers:
            self.headers = []

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self.exchange is not None
        reason, self.reason = self.reason, b""
        headers, self.headers = self.headers, []
        parser = self.parser
        status = parser.get_status_code()
        self.exchange.response_head(status, reason, headers, parser.should_keep_alive())
        if self.head_only and status >= 200:
            # A HEAD response has no body whatever its Content-Length says; the parser would
            # wait for one, so this connection gets a fresh parser for its next response.
            self.parser = httptools.HttpResponseParser(self)
            self.complete = True

    def on_body(self, body: bytes) -> None:
        exchange = self.exchange
        assert exchange is not None
        exchange.bytes_sent += len(body)
        if exchange.body_mode == BODY_CHUNKED:
            exchange.out += (b"%x\r\n" % len(body), body, b"\r\n")
        else:
            exchange.out.append(body)

    def on_message_complete(self) -> None:
        exchange = self.exchange
        assert exchange is not None
        if exchange.interim:
            exchange.interim = False
            return
        if not self.head_only:
            self.complete = True

    # Helpers

    def pause_reading(self) -> None:
        if not self.reading_paused and self.open:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and self.open:
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.open = False
        self.exchange = None
        self.transport.close()

    def abort(self) -> None:
        self.open = False
        self.exchange = None
        self.transport.abort()
