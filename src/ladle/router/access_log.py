"""Access-log records: what the router hands out per request, the bounded hand-offs that keep the
data plane from ever waiting on the consumer, and gorouter's access-log line format.

The data plane calls ``offer`` with the raw values of a finished request (an append to a bounded
deque; when full the record is dropped and counted). Every ``interval`` a task on the router's
loop takes what is queued and hands it on, one of two ways:

- ``AccessLogQueue``: to a worker thread of the router's process, which turns the batch into
  ``AccessLogRecord`` values and calls the sink's ``write``. For sinks that must live in the
  router's process (tests read theirs).
- ``AccessLogPipe``: to a process of its own, through a pipe, pickled as it is; that process makes
  the sink and the records. ``ladle serve``'s router uses it: decoding, formatting and writing a
  batch took the router's GIL for milliseconds every interval, which was most of its p99 latency
  at concurrency 1 (measured with bench.router_bench: 0.62 ms with the sink in a thread, 0.31 ms
  without one, against 0.13 ms direct).

Either way a slow sink only makes records drop, never requests wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from ladle.sandbox.parent_death import die_with_parent

__all__ = ["AccessLogPipe", "AccessLogQueue", "AccessLogRecord", "AccessLogSink", "format_access_log"]

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
        (host, method, uri, http10, status, received, sent, referer, agent, remote, endpoint, forwarded, proto,
         request_id, received_ns, response_time, gorouter_time, error) = raw  # fmt: skip
        backend_addr, app_id, app_index, instance_id, process_type = endpoint or ("", "", "", "", "")
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
            backend_addr=backend_addr,
            x_forwarded_for=forwarded.decode("latin-1"),
            x_forwarded_proto=(proto or b"http").decode("latin-1"),
            vcap_request_id=request_id.decode(),
            received_at_ns=received_ns,
            response_time=response_time,
            gorouter_time=gorouter_time,
            app_id=app_id,
            app_index=app_index,
            instance_id=instance_id,
            process_type=process_type,
            router_error=error,
        )


# What the data plane captures per request (see ``Exchange._log``), in AccessLogRecord's order
# but undecoded, with the endpoint's fields as one tuple (``EndpointState.log_fields``: address,
# app, index, instance, process type), or None. Plain values only: it is pickled as it is.
RawRecord = tuple[
    bytes, bytes, bytes, bool, int, int, int, bytes, bytes, str, tuple[str, str, str, str, str] | None, bytes,
    bytes, bytes, int, float, float, str,
]  # fmt: skip


class AccessLogSink(Protocol):
    def write(self, records: Sequence[AccessLogRecord]) -> None:
        """Take a batch of records; called on a worker thread, one batch at a time."""
        ...


class _Handoff:
    """What both hand-offs share: the bounded deque the data plane offers records to, and the
    timer that hands them on (``drain``) once per ``interval``."""

    def __init__(self, capacity: int, interval: float) -> None:
        self.capacity = capacity
        # Batching on a timer, not per record: one hand-off per interval keeps the loop from
        # trading the GIL (or a system call) with the consumer on every request.
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
        """Start, then hand records on until cancelled."""
        await self._open()
        while True:
            await asyncio.sleep(self.interval)
            await self.drain()

    async def _open(self) -> None:
        """What must run before the first hand-off."""

    async def drain(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Hand on what is queued; the router stops after this."""
        await self.drain()


class AccessLogQueue(_Handoff):
    """Bounded hand-off from the data plane to a sink on a worker thread of this process."""

    def __init__(self, sink: AccessLogSink, capacity: int = 10_000, interval: float = 0.1) -> None:
        super().__init__(capacity, interval)
        self.sink = sink

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


# A frame on the pipe: its length, then a pickled list of raw records.
_FRAME = struct.Struct("!I")


class AccessLogPipe(_Handoff):
    """Bounded hand-off from the data plane to a sink in a process of its own.

    ``make_sink`` is called in that process (so it must pickle: a module-level function, or a
    ``functools.partial`` of one). The process starts with :meth:`run` and ends when the pipe
    closes (:meth:`close`: it writes what it was sent, then ends) or when the router dies. The
    router's side of the pipe never blocks: while more than ``backlog_limit`` bytes wait unread,
    batches are dropped and counted. A process that ended early (killed) is replaced, at most once
    per ``restart_interval``.
    """

    def __init__(
        self,
        make_sink: Callable[[], AccessLogSink],
        *,
        capacity: int = 10_000,
        interval: float = 0.1,
        backlog_limit: int = 16 * 1024 * 1024,
        close_timeout: float = 5.0,
        restart_interval: float = 5.0,
    ) -> None:
        super().__init__(capacity, interval)
        self.make_sink = make_sink
        self.close_timeout = close_timeout
        # A sink's process that ended is started again at most this often (seconds).
        self.restart_interval = restart_interval
        self.backlog_limit = backlog_limit
        self._process: BaseProcess | None = None
        self._restart_after = 0.0
        self._transport: asyncio.WriteTransport | None = None

    @property
    def pid(self) -> int | None:
        """The sink's process, once started."""
        return self._process.pid if self._process is not None else None

    async def _open(self) -> None:
        """Start the sink's process and the pipe to it."""
        reader, writer = multiprocessing.Pipe(duplex=False)
        # "spawn": a fresh interpreter, not a fork of a router that already runs threads.
        process = multiprocessing.get_context("spawn").Process(
            target=run_sink_process, args=(self.make_sink, reader, os.getpid()), name="ladle-router-log"
        )
        # Started from the loop's thread, not a worker thread: the parent-death signal is per
        # thread, and this one lives as long as the router.
        process.start()
        reader.close()
        # The transport gets a descriptor of its own and closes it (uvloop through libuv, asyncio
        # through the file object): one owner, so no descriptor is ever closed twice.
        pipe = os.fdopen(os.dup(writer.fileno()), "wb", buffering=0)
        writer.close()
        os.set_blocking(pipe.fileno(), False)
        transport, _ = await asyncio.get_running_loop().connect_write_pipe(asyncio.Protocol, pipe)
        self._process, self._transport = process, transport

    async def drain(self) -> None:
        records = self._records
        if not records:
            return
        batch = list(records)
        records.clear()
        transport = self._transport
        if transport is not None and transport.is_closing() and self._process is not None:
            # The sink's process ended (killed, or its sink failed to start): a new one, once a
            # restart interval, with what waits meanwhile dropped.
            transport = await self._restart()
        if transport is None or transport.is_closing() or transport.get_write_buffer_size() > self.backlog_limit:
            self.dropped += len(batch)
            return
        payload = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        transport.write(_FRAME.pack(len(payload)) + payload)
        self.written += len(batch)

    async def _restart(self) -> asyncio.WriteTransport | None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._restart_after:
            return None
        self._restart_after = loop.time() + self.restart_interval
        assert self._process is not None
        log.warning("the access log's process ended (exit code %s); starting another", self._process.exitcode)
        self._process.join(0)
        await self._open()
        return self._transport

    async def close(self) -> None:
        """Send what is queued, close the pipe, and wait (up to ``close_timeout`` for the pipe
        to empty, as long again for the process to end) for the process to write it and end."""
        timeout = self.close_timeout
        await self.drain()
        if self._transport is not None:
            self._transport.close()  # after what it holds has been written
            deadline = asyncio.get_running_loop().time() + timeout
            while self._transport.get_write_buffer_size() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
        if self._process is not None:
            await asyncio.to_thread(self._process.join, timeout)
            if self._process.is_alive():
                self._process.kill()
        self._transport = self._process = None


def run_sink_process(make_sink: Callable[[], AccessLogSink], reader: Connection, parent_pid: int) -> None:
    """The sink's process: read batches from the pipe until it closes, write each to the sink."""
    # A router that stops closes the pipe, and this process ends once it has written what it was
    # sent; a router killed takes this process with it (records in flight are lost with it).
    die_with_parent(parent_pid, signal.SIGTERM)
    sink = make_sink()
    with os.fdopen(reader.fileno(), "rb", closefd=False) as pipe:
        while True:
            header = pipe.read(_FRAME.size)
            if len(header) < _FRAME.size:
                break
            payload = pipe.read(_FRAME.unpack(header)[0])
            batch: list[Any] = pickle.loads(payload)
            try:
                sink.write([AccessLogRecord.from_raw(raw) for raw in batch])
            except Exception:
                log.exception("access log sink failed; %d records dropped", len(batch))
    with contextlib.suppress(OSError):
        reader.close()


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
