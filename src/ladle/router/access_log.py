"""Access-log records: what the router hands out per request, the bounded queue that keeps the
data plane from ever waiting on the consumer, and gorouter's access-log line format.

The data plane calls ``AccessLogQueue.offer`` with the raw values of a finished request (an
append to a bounded deque; when full the record is dropped and counted). Every ``interval`` a
task on the router's loop takes what is queued and, on a worker thread, turns it into
``AccessLogRecord`` values and calls the sink's ``write``: so decoding and a sink that blocks
(writing rows, sending to a socket) stay off the request path, and a slow sink only makes the
queue fill and drop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ladle.router.upstream import EndpointState

__all__ = ["AccessLogQueue", "AccessLogRecord", "AccessLogSink", "format_access_log"]

log = logging.getLogger("ladle.router")

# gorouter truncates what goes to an app's log stream at these sizes (UDP-era limits it kept).
SMALL_BYTES_LIMIT = 1_000
LARGE_BYTES_LIMIT = 20_000


@dataclass(slots=True, frozen=True)
class AccessLogRecord:
    host: str  # the Host header as sent
    method: str
    uri: str  # the raw request target
    protocol: str  # "HTTP/1.1"
    status: int  # 0 when no status was sent (shown "-")
    bytes_received: int  # request body bytes
    bytes_sent: int  # response body bytes
    referer: str
    user_agent: str
    remote_addr: str  # client "ip:port"
    backend_addr: str  # instance "ip:port", "" when none was tried
    x_forwarded_for: str  # as the app received it
    x_forwarded_proto: str
    vcap_request_id: str
    received_at_ns: int  # wall clock, ns since the epoch
    response_time: float  # seconds, first byte in to last byte out
    gorouter_time: float  # seconds of that not spent waiting on the instance
    app_id: str  # "" for requests no app served (unknown route)
    app_index: str
    instance_id: str
    process_type: str
    router_error: str  # X-Cf-Routererror, if the router answered itself

    @classmethod
    def from_raw(cls, raw: RawRecord) -> AccessLogRecord:
        (host, method, uri, http10, status, received, sent, referer, agent, remote, state, forwarded, proto,
         request_id, received_ns, response_time, gorouter_time, error) = raw  # fmt: skip
        endpoint = state.endpoint if state is not None else None
        return cls(
            host=host.decode("latin-1"),
            method=method.decode("latin-1"),
            uri=uri.decode("latin-1"),
            protocol="HTTP/1.0" if http10 else "HTTP/1.1",
            status=status,
            bytes_received=received,
            bytes_sent=sent,
            referer=referer.decode("latin-1"),
            user_agent=agent.decode("latin-1"),
            remote_addr=remote,
            backend_addr=state.addr if state is not None else "",
            x_forwarded_for=forwarded.decode("latin-1"),
            x_forwarded_proto=(proto or b"http").decode("latin-1"),
            vcap_request_id=request_id.decode(),
            received_at_ns=received_ns,
            response_time=response_time,
            gorouter_time=gorouter_time,
            app_id=endpoint.app_guid if endpoint else "",
            app_index=str(endpoint.instance_index) if endpoint else "",
            instance_id=endpoint.instance_guid if endpoint else "",
            process_type=endpoint.process_type if endpoint else "",
            router_error=error,
        )


# What the data plane captures per request (see ``Exchange._log``), in AccessLogRecord's order
# but undecoded, with the endpoint's state in place of its fields.
RawRecord = tuple[
    bytes, bytes, bytes, bool, int, int, int, bytes, bytes, str, "EndpointState | None", bytes, bytes, bytes,
    int, float, float, str,
]  # fmt: skip


class AccessLogSink(Protocol):
    def write(self, records: Sequence[AccessLogRecord]) -> None:
        """Take a batch of records; called on a worker thread, one batch at a time."""
        ...


class AccessLogQueue:
    """Bounded hand-off from the data plane to a sink."""

    def __init__(self, sink: AccessLogSink, capacity: int = 10_000, interval: float = 0.1) -> None:
        self.sink = sink
        self.capacity = capacity
        # Batching on a timer, not per record: one hand-off to the worker thread per interval
        # keeps the loop from trading the GIL with it on every request.
        self.interval = interval
        self.dropped = 0
        self.written = 0
        self._records: deque[RawRecord] = deque()

    def offer(self, raw: RawRecord) -> None:
        records = self._records
        if len(records) >= self.capacity:
            self.dropped += 1
        else:
            records.append(raw)

    async def run(self) -> None:
        """Feed the sink until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.drain()

    async def drain(self) -> None:
        """Hand everything queued to the sink; a failing sink loses its batch, not the router."""
        records = self._records
        while records:
            batch = [records.popleft() for _ in range(min(1000, len(records)))]
            try:
                await asyncio.to_thread(self._write, batch)
                self.written += len(batch)
            except Exception:
                self.dropped += len(batch)
                log.exception("access log sink failed; %d records dropped", len(batch))

    def _write(self, batch: list[RawRecord]) -> None:
        self.sink.write([AccessLogRecord.from_raw(raw) for raw in batch])


def format_access_log(record: AccessLogRecord, truncate: bool = True) -> str:
    """The record as gorouter's access-log line (the text of an ``RTR`` log envelope).

    ``truncate`` applies gorouter's limits for app log streams (URIs 20 kB, headers 1 kB).
    """
    started = datetime.fromtimestamp(record.received_at_ns // 1_000_000_000, UTC)
    stamp = started.strftime("%Y-%m-%dT%H:%M:%S") + f".{record.received_at_ns % 1_000_000_000:09d}Z"
    uri = _truncated(record.uri, "request-uri", LARGE_BYTES_LIMIT) if truncate else record.uri

    def header(value: str, name: str) -> str:
        return _dash_or_quote(_truncated(value, name, SMALL_BYTES_LIMIT) if truncate else value)

    status = str(record.status) if record.status else '"-"'
    return (
        f"{record.host} - [{stamp}] "
        f"{_quote(f'{record.method} {uri} {record.protocol}')} "
        f"{status} "
        f"{record.bytes_received} {record.bytes_sent} "
        f"{header(record.referer, 'Referer')} "
        f"{header(record.user_agent, 'User-Agent')} "
        f"{_dash_or_quote(record.remote_addr)} "
        f"{_dash_or_quote(record.backend_addr)} "
        f"x_forwarded_for:{header(record.x_forwarded_for, 'X-Forwarded-For')} "
        f"x_forwarded_proto:{header(record.x_forwarded_proto, 'X-Forwarded-Proto')} "
        f"vcap_request_id:{_dash_or_quote(record.vcap_request_id)} "
        f"response_time:{_seconds(record.response_time)} "
        f"gorouter_time:{_seconds(record.gorouter_time)} "
        f"app_id:{_dash_or_quote(record.app_id)} "
        f"app_index:{_dash_or_quote(record.app_index)} "
        f"instance_id:{_dash_or_quote(record.instance_id)} "
        f"x_cf_routererror:{_dash_or_quote(record.router_error)}"
    )


def _seconds(value: float) -> str:
    return f"{value:.6f}" if value >= 0 else '"-"'


def _truncated(value: str, name: str, limit: int) -> str:
    while len(value) > limit:
        value = value[: len(value) // 2] + f"...{name.upper()}-TOO-LONG-TO-LOG--TRUNCATED"
    return value


def _dash_or_quote(value: str) -> str:
    return _quote(value) if value else '"-"'


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote(value: str) -> str:
    """Go's ``strconv.Quote``: double quotes, backslash escapes, printable runes kept."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
