"""One request and its response through the router, from the client's head to the last byte.

An ``Exchange`` is driven by callbacks from both sides: the client connection hands it the
request (head, body pieces, end) and the upstream connection hands it the response. Bodies are
passed on as they arrive and never gathered: a piece waits only while no upstream connection is
ready yet, and the client is paused when more than a little waits. Flow control is the
transports' own: a full write buffer on one side pauses reading on the other.

Attempts: an endpoint is picked from the route's pool, a pooled connection to it is used or a new
one dialled. An attempt that fails before any response byte arrived is retried as gorouter does:
always after a dial failure (on another endpoint), and after the request went out only if it is
idempotent (GET, HEAD, OPTIONS, TRACE, or an ``Idempotency-Key``); a failed pooled connection
is retried on a new one to the same endpoint. Only while the request body sent so far can be sent
again (up to ``REPLAY_LIMIT`` bytes are kept for that).
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING

from ladle.router.forwarding import RequestHead, forwarded_for, scan_request_headers, upstream_head
from ladle.router.responses import (
    BODY_CHUNKED,
    protocol_error,
    router_error,
    shape_response_head,
)
from ladle.router.sticky import requested_instance

if TYPE_CHECKING:
    from ladle.router.client import ClientConnection
    from ladle.router.table import RoutePool
    from ladle.router.upstream import EndpointState, UpstreamConnection

__all__ = ["Exchange"]

MAX_ATTEMPTS = 3  # gorouter's backends.max_attempts default
REPLAY_LIMIT = 64 * 1024
PENDING_LIMIT = 64 * 1024
# After a dial failure an endpoint is tried only when no other is left, for this long.
FAILURE_PENALTY = 5.0
NO_CACHE = b"no-cache, no-store"
BAD_GATEWAY = "Registered endpoint failed to handle the request."
IDEMPOTENT_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE"})
_PIN = re.compile(rb"^([\da-f]{8}-(?:[\da-f]{4}-){3}[\da-f]{12}):(\d+)$")


class _RequestIds:
    """Random (version 4) UUIDs, cut from urandom read 4 KiB at a time."""

    _VARIANT = dict(zip(b"0123456789abcdef", b"89ab89ab89ab89ab", strict=True))

    def __init__(self) -> None:
        self.hex = b""
        self.at = 0

    def __call__(self) -> bytes:
        at = self.at
        if at + 32 > len(self.hex):
            self.hex, at = os.urandom(4096).hex().encode(), 0
        self.at = at + 32
        h = self.hex[at : at + 32]
        return b"%s-%s-4%s-%c%s-%s" % (h[:8], h[8:12], h[13:16], self._VARIANT[h[16]], h[17:20], h[20:])


new_request_id = _RequestIds()


class Exchange:
    """Defaults live on the class (most exchanges never touch most of them); only what a
    request changes is stored on it."""

    head: RequestHead
    request_id = b""
    forwarded = b""
    head_bytes = b""
    received_ns = 0
    started = app_started = app_finished = 0.0
    pool: RoutePool | None = None
    pinned: EndpointState | None = None
    state: EndpointState | None = None
    last_state: EndpointState | None = None
    tried: tuple[EndpointState, ...] = ()
    attempts = 0
    fresh = False
    reused = False
    upstream: UpstreamConnection | None = None
    # Body pieces waiting for an upstream connection.
    pending: list[bytes] | None = None
    pending_size = 0
    # Body pieces kept to send again on a retry; None once more than REPLAY_LIMIT went by.
    replay: list[bytes] | None = None
    replay_size = 0
    body_sent = False
    request_done = False
    bytes_received = 0
    resp_head_count = 0
    interim = False
    response_started = False
    response_done = False
    upstream_keep_alive = False
    delimited_by_close = False
    body_mode = 0
    status = 0
    bytes_sent = 0
    close_after = False
    finished = False
    piping = False
    client_eof = upstream_eof = False
    last_error = ""
    router_error = ""
    # The instance a session cookie asked for (``__VCAP_ID__``), if any.
    sticky = b""
    method = b""
    http10 = False
    keep_alive = True
    upgrade = False

    def __init__(self, client: ClientConnection) -> None:
        self.client = client
        self.router = client.router
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.out: list[bytes] = []

    # The request, from the client connection

    def headers_done(self) -> None:
        self.head = head = scan_request_headers(self.headers)
        if head.close:
            self.keep_alive = False

    def request_body(self, data: bytes) -> None:
        if self.finished:
            return
        self.bytes_received += len(data)
        self._send_piece(b"%x\r\n%s\r\n" % (len(data), data) if self.head.chunked else data)

    def raw_from_client(self, data: bytes) -> None:
        """Bytes after an upgrade request's head: passed on as they are."""
        if self.finished:
            return
        self.bytes_received += len(data)
        if self.piping:
            assert self.upstream is not None
            self.upstream.transport.write(data)
        else:
            self._send_piece(data)

    def request_complete(self) -> None:
        self.request_done = True
        if self.head.chunked and not self.finished:
            self._send_piece(b"0\r\n\r\n")

    def _send_piece(self, piece: bytes) -> None:
        if self.replay_size <= REPLAY_LIMIT:
            self.replay_size += len(piece)
            if self.replay_size <= REPLAY_LIMIT:
                if self.replay is None:
                    self.replay = []
                self.replay.append(piece)
            else:
                self.replay = None
        upstream = self.upstream
        if upstream is not None:
            upstream.transport.write(piece)
            self.body_sent = True
        else:
            if self.pending is None:
                self.pending = []
            self.pending.append(piece)
            self.pending_size += len(piece)
            if self.pending_size > PENDING_LIMIT:
                self.client.pause_reading(1)

    @property
    def replayable(self) -> bool:
        """Whether everything sent of the body so far could be sent again."""
        return not self.body_sent or self.replay_size <= REPLAY_LIMIT

    # Routing

    def begin(self) -> None:
        """Route the request and start the first attempt; called when it is the client's turn."""
        self.received_ns = time.time_ns()
        self.started = time.monotonic()
        self.request_id = new_request_id()
        head = self.head
        target = self.target
        if head.problem or head.hosts != 1 or target[:1] != b"/" or self.method == b"CONNECT":
            unusual = self._unusual_head()
            if unusual is None:
                return
            host, path = unusual
        else:
            host, path = head.host, target
        colon = host.find(b":")
        hostname = (host[:colon] if colon >= 0 else host).lower().decode("latin-1")
        router = self.router
        if not hostname or hostname == self.client.ip:
            error = router_error(400, "Request had empty Host header", "empty_host", cache_control=b"public,max-age=2")
            self.respond_local(error, 400, "empty_host")
            return
        if hostname == router.status_host:
            self.request_id = b""  # the router's own page: not an app request, not logged
            router.serve_status(self)
            return
        query = path.find(b"?")
        pool = router.table.lookup(hostname, path[:query] if query >= 0 else path)
        if head.pin:
            if not self._pin(pool, host):
                return
        elif pool is None:
            message = f"Requested route ('{host.decode('latin-1')}') does not exist."
            self.respond_local(
                router_error(404, message, "unknown_route", cache_control=NO_CACHE), 404, "unknown_route"
            )
            return
        self.pool = pool
        self.forwarded = forwarded = forwarded_for(head, self.client.ip_bytes)
        self.head_bytes = upstream_head(
            self.method,
            target,
            head,
            forwarded=forwarded,
            request_id=self.request_id,
            now_ms=self.received_ns // 1_000_000,
        )
        self.app_started = time.monotonic()
        self.next_attempt()

    def _unusual_head(self) -> tuple[bytes, bytes] | None:
        """Host and path of a request with an absolute-form target, no or several ``Host``
        headers, a transfer coding we cannot pass on, or CONNECT; None once answered."""
        head = self.head
        if head.problem:
            self.reject(protocol_error(501, head.problem))
            return None
        if self.method == b"CONNECT":
            self.reject(protocol_error(405))
            return None
        host, path = head.host, self.target
        if path[:1] != b"/":
            path, absolute_host = _split_absolute(path)
            if absolute_host:
                return absolute_host, path
        if head.hosts > 1:
            self.reject(protocol_error(400, "too many Host headers"))
            return None
        if not head.hosts and not self.http10:
            self.reject(protocol_error(400, "missing required Host header"))
            return None
        return host, path

    def _pin(self, pool: RoutePool | None, host: bytes) -> bool:
        """``X-CF-APP-INSTANCE: <app guid>:<index>`` picks one instance (gorouter's wording for
        a bad header and a missing instance)."""
        match = _PIN.match(self.head.pin)
        if match is None:
            error = router_error(
                400, "Invalid X-CF-App-Instance Header", "invalid_cf_app_instance_header", cache_control=NO_CACHE
            )
            self.respond_local(error, 400, "invalid_cf_app_instance_header")
            return False
        guid, index = match.group(1).decode(), match.group(2).decode()
        self.pinned = pool.instance(guid, int(index)) if pool is not None else None
        if self.pinned is None:
            shown = host.decode("latin-1")
            message = f"Requested instance ('{index}') with guid ('{guid}') does not exist for route ('{shown}')"
            self.respond_local(
                router_error(400, message, "unknown_route", cache_control=NO_CACHE), 400, "unknown_route"
            )
            return False
        return True

    def next_attempt(self) -> None:
        if self.pinned is not None:
            state = None if self.pinned in self.tried else self.pinned
        else:
            pool = self.pool
            assert pool is not None
            state = None
            if self.head.cookies and not self.tried:
                self.sticky = requested_instance(self.head.cookies)
                if self.sticky:
                    state = pool.by_instance_guid(self.sticky.decode("latin-1"))
            if state is None:
                state = pool.pick(self.tried)
        if state is None:
            self.give_up()
            return
        self.tried += (state,)
        self.attempts += 1
        state.in_flight += 1
        self.state = self.last_state = state
        conn = None if self.fresh else state.take_idle()
        if conn is not None:
            self.attach(conn, reused=True)
        else:
            self.router.dial(self, state)

    def attach(self, conn: UpstreamConnection, reused: bool) -> None:
        """Send the request on ``conn`` (pooled, or just dialled for this exchange)."""
        state = conn.state
        if self.finished or self.state is not state:
            state.put_idle(conn)
            return
        self.upstream = conn
        self.reused = reused
        conn.exchange = self
        conn.head_only = self.method == b"HEAD"
        pending = self.pending
        if pending:
            self.pending = None
            self.pending_size = 0
            self.body_sent = True
            conn.transport.write(b"".join([self.head_bytes, state.header_lines, b"\r\n", *pending]))
            self.client.resume_reading(1)
        else:
            conn.transport.write(self.head_bytes + state.header_lines + b"\r\n")
        if self.client.writing_paused:
            conn.pause_reading()

    def dial_failed(self, state: EndpointState, error: str) -> None:
        if self.finished or self.state is not state:
            return
        state.failed_until = time.monotonic() + FAILURE_PENALTY
        self._attempt_failed(error, dialled=False)

    def _attempt_failed(self, error: str, dialled: bool) -> None:
        """An attempt ended before any response byte reached the client: retry or answer 502."""
        state = self.state
        assert state is not None
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            upstream.abort()
        self._release(state)
        self.last_error = error
        # As gorouter: a request that never reached the app goes elsewhere; one that did, only
        # if it is idempotent (it may have been acted on).
        retry = (
            not self.response_started
            and self.pinned is None
            and self.attempts < MAX_ATTEMPTS
            and self.replayable
            and (not dialled or self.method in IDEMPOTENT_METHODS or self.head.idempotency_key)
        )
        if not retry:
            self.give_up()
            return
        if dialled and self.reused:
            # A pooled connection failed: likely the app closed it while idle, which is not the
            # endpoint's fault, so it may be tried again, on a new connection.
            self.tried = tuple(t for t in self.tried if t is not state)
            self.fresh = True
        if self.body_sent:
            self.pending = list(self.replay or ())
            self.pending_size = self.replay_size
            self.body_sent = False
        self.next_attempt()

    def give_up(self) -> None:
        if self.response_started:
            self.close_after = True
            self.finish()
            return
        error = f"endpoint_failure ({self.last_error})" if self.last_error else "endpoint_failure"
        self.respond_local(router_error(502, BAD_GATEWAY, error), 502, error)

    def _release(self, state: EndpointState) -> None:
        self.state = None
        state.in_flight -= 1
        if not state.live and not state.in_flight:
            self.router.forget(state)

    # The response, from the upstream connection

    def response_head(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], upstream_keep_alive: bool
    ) -> None:
        if status < 200 and status != 101:
            # 100 Continue and friends go to the client as they are; the real head follows.
            self.interim = True
            lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
            for name, value in headers:
                lines += (name, b": ", value, b"\r\n")
            lines.append(b"\r\n")
            self.out.append(b"".join(lines))
            return
        self.status = status
        self.upstream_keep_alive = upstream_keep_alive
        state = self.state
        sticky = None
        if state is not None and state.instance_guid and self.pool is not None:
            sticky = (self.sticky, state.instance_guid, self.pool.cookie_path)
        shaped = shape_response_head(
            status,
            reason,
            headers,
            self.request_id,
            head_request=self.method == b"HEAD",
            client_keep_alive=self.keep_alive and not self.upgrade and not self.router.stopping,
            client_http10=self.http10,
            sticky=sticky,
        )
        self.body_mode = shaped.body
        self.delimited_by_close = shaped.delimited_by_close
        if not shaped.keep_alive:
            self.close_after = True
        self.response_started = True
        self.out.append(shaped.head)

    def flush(self) -> None:
        out = self.out
        if out:
            self.out = []
            transport = self.client.transport
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def response_complete(self, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        if self.finished:
            return
        if self.body_mode == BODY_CHUNKED:
            lines = [b"0\r\n"]
            for name, value in trailers or ():
                lines += (name, b": ", value, b"\r\n")
            lines.append(b"\r\n")
            self.client.transport.write(b"".join(lines))
        self.response_done = True
        self.finish()

    def upstream_lost(self, conn: UpstreamConnection, exc: Exception | None) -> None:
        if conn is not self.upstream or self.finished:
            return
        if self.piping:
            self.upstream = None
            self.finish()
            return
        if self.response_started:
            if self.delimited_by_close:
                # The app's body ran until it closed: that close is its end.
                self.upstream = None
                self.response_complete()
                return
            # Cut off mid-body: nothing can be said to the client but closing.
            self.router_error = f"endpoint_failure ({_read_error(exc)})"
            self.close_after = True
            self.finish()
            return
        self._attempt_failed(_read_error(exc), dialled=True)

    def upstream_broken(self, conn: UpstreamConnection, error: str) -> None:
        if conn is not self.upstream or self.finished:
            return
        conn.abort()
        if self.response_started:
            self.upstream = None
            self.close_after = True
            self.finish()
            return
        # Not retried: the app did answer, badly.
        self.attempts = MAX_ATTEMPTS
        self._attempt_failed(error, dialled=True)

    def timed_out(self) -> None:
        """No response head within the endpoint timeout."""
        if self.upstream is not None and not self.response_started and not self.finished:
            self.attempts = MAX_ATTEMPTS
            self._attempt_failed("context deadline exceeded", dialled=True)

    # Upgrades (WebSocket): after a 101 both connections become one byte pipe

    def upstream_upgraded(self, rest: bytes) -> None:
        upstream = self.upstream
        assert upstream is not None
        if self.status != 101:
            self.upstream_broken(upstream, "unexpected upgrade")
            return
        self.piping = True
        self.close_after = True
        upstream.piping = True
        self.client.pipe = self
        if rest:
            self.pipe_from_upstream(rest)

    def pipe_from_upstream(self, data: bytes) -> None:
        self.bytes_sent += len(data)
        self.client.transport.write(data)

    def pipe_eof_from_upstream(self) -> bool:
        """The app is done sending: pass the half-close on; the pipe ends when both are done."""
        self.upstream_eof = True
        self.client.transport.write_eof()
        if self.client_eof:
            self.finish()
        return True

    def pipe_eof_from_client(self) -> bool:
        self.client_eof = True
        upstream = self.upstream
        if upstream is not None:
            upstream.transport.write_eof()
        if self.upstream_eof:
            self.finish()
        return True

    # Ending

    def respond_local(self, data: bytes, status: int, error: str = "") -> None:
        """A whole response from the router itself (lookup errors, 502, status)."""
        if self.finished:
            return
        self.status = status
        self.router_error = error
        self.bytes_sent = len(data) - data.index(b"\r\n\r\n") - 4
        # A request that declares no body has nothing left to read even before the parser says it
        # is complete (local answers are given as soon as its head is in).
        unread_body = not self.request_done and (self.head.chunked or self.head.content_length > 0)
        if unread_body or self.upgrade or not self.keep_alive:
            # The rest of the request would be read as the next one; the connection ends here,
            # and the answer says so, or a keep-alive client would send its next request into it.
            self.close_after = True
            head_end = data.index(b"\r\n\r\n")
            if b"\r\nconnection:" not in data[:head_end].lower():
                line_end = data.index(b"\r\n") + 2
                data = data[:line_end] + b"Connection: close\r\n" + data[line_end:]
        self.client.transport.write(data)
        self.finish()

    def reject(self, data: bytes) -> None:
        """A request the HTTP layer refuses: answered, not logged, and the connection closes."""
        self.close_after = True
        self.finished = True
        self.client.transport.write(data)
        self.client.exchange_done(self)

    def client_broken(self, response: bytes) -> None:
        """The request went bad mid-body (bad chunking): the app's half is dropped."""
        if self.finished:
            return
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            upstream.abort()
        if not self.response_started:
            self.status = 400
            self.client.transport.write(response)
        self.close_after = True
        self.finish()

    def client_lost(self) -> None:
        """The client went away before the exchange ended."""
        if self.finished:
            return
        if not self.response_started:
            self.status = 499
        upstream = self.upstream
        if upstream is not None and not self.response_done:
            self.upstream = None
            # A pipe's last bytes from the client still go out; a request cut short does not.
            if self.piping:
                upstream.close()
            else:
                upstream.abort()
        self.close_after = True
        self.finish()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.app_finished = time.monotonic()
        state = self.state
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            upstream.exchange = None
            upstream.piping = False
            if (
                state is not None
                and self.response_done
                and self.request_done
                and not self.pending
                and self.upstream_keep_alive
                and not upstream.extra
                and not self.piping
            ):
                state.put_idle(upstream)
            else:
                upstream.close()
        if state is not None:
            self._release(state)
        access_log = self.router.access_log
        if access_log is not None and self.request_id:
            head = self.head
            last = self.last_state
            total = self.app_finished - self.started
            in_app = self.app_finished - self.app_started if self.app_started else 0.0
            access_log.offer(
                (head.host, self.method, self.target, self.http10, self.status, self.bytes_received,
                 self.bytes_sent, head.referer, head.user_agent, self.client.peer,
                 last.log_fields if last is not None else None, self.forwarded, head.forwarded_proto,
                 self.request_id, self.received_ns, total, total - in_app, self.router_error)
            )  # fmt: skip
        self.client.exchange_done(self)


def _split_absolute(target: bytes) -> tuple[bytes, bytes]:
    """Path and host of an absolute-form target (``http://host/path``); ``*`` has neither."""
    scheme_end = target.find(b"://")
    if scheme_end < 0:
        return target, b""
    rest = target[scheme_end + 3 :]
    slash = rest.find(b"/")
    if slash < 0:
        return b"/", rest
    return rest[slash:], rest[:slash]


def _read_error(exc: Exception | None) -> str:
    """Go's wording for what broke the connection, as gorouter puts it in ``X-Cf-Routererror``."""
    if exc is None:
        return "EOF"
    if isinstance(exc, ConnectionResetError):
        return "read: connection reset by peer"
    return f"read: {exc}"
