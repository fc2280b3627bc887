"""The router under test, on a thread of the test process with its own uvloop loop, plus helpers
to talk to it over real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any, BinaryIO

import uvloop

from ladle.router import AccessLogRecord, Endpoint, Route, Router, RouteSource, StaticRouteSource

__all__ = ["RecordingSink", "RunningRouter", "endpoint", "eventually", "raw_exchange", "read_response"]


class RecordingSink:
    def __init__(self) -> None:
        self.records: list[AccessLogRecord] = []
        self.lock = threading.Lock()

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        with self.lock:
            self.records.extend(records)


class RunningRouter:
    """A ``Router`` on its own thread and loop; ``set_routes`` returns once it applied them."""

    def __init__(self, routes: Iterable[Route] = (), source: RouteSource | None = None, **options: Any) -> None:
        self.source = StaticRouteSource(routes)
        self.sink = RecordingSink()
        options.setdefault("access_log", self.sink)
        self.router = Router(source or self.source, port=0, **options)
        self.loop = uvloop.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("router did not start")
        self.port = self.router.port
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            await self.router.start()
            self._ready.set()
            await self._stop.wait()
            await self.router.stop(grace=1)

        self.loop.run_until_complete(main())

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the router's loop and return its result (to read state safely)."""
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def set_routes(self, routes: Iterable[Route]) -> int:
        version = self.source.replace(routes)
        self.router.reload_soon()
        applied = asyncio.run_coroutine_threadsafe(self.router.wait_until(version, timeout=10), self.loop)
        assert applied.result(timeout=15), "router did not apply the new table"
        return version

    def records(self) -> list[AccessLogRecord]:
        with self.sink.lock:
            return list(self.sink.records)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def endpoint(port: int, index: int = 0, app: str = "11111111-2222-3333-4444-555555555555", **kw: Any) -> Endpoint:
    return Endpoint(
        "127.0.0.1", port, app, instance_index=index, instance_guid=kw.pop("guid", f"instance-{port}"), **kw
    )


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def read_response(sock: socket.socket, head_request: bool = False) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One response from ``sock``: status line, headers (lower-cased names), body (by
    Content-Length, chunked, or until close). Reads through a buffered reader kept on the
    socket, so responses that arrive together are each read in turn."""
    reader = _readers.get(sock)
    if reader is None:
        reader = _readers[sock] = sock.makefile("rb")
    status = reader.readline().rstrip(b"\r\n")
    if not status:
        raise ConnectionError("closed before a response")
    headers: dict[bytes, bytes] = {}
    while line := reader.readline().rstrip(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    code = status.split()[1]
    if head_request or code in (b"204", b"304") or code.startswith(b"1"):
        return status, headers, b""
    if b"content-length" in headers:
        return status, headers, _exactly(reader, int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while size := int(reader.readline().split(b";")[0], 16):
            body += _exactly(reader, size)
            reader.readline()
        while reader.readline().rstrip(b"\r\n"):  # trailers
            pass
        return status, headers, body
    return status, headers, reader.read()


_readers: weakref.WeakKeyDictionary[socket.socket, BinaryIO] = weakref.WeakKeyDictionary()


def _exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise ConnectionError("closed mid-body")
    return data


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Send ``request`` bytes on a new connection and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock, head_request=request.startswith(b"HEAD "))
