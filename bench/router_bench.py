"""Router overhead: requests/s and latency through the router as a ratio of direct requests.

Three processes on this machine: a backend (a minimal HTTP/1.1 server on asyncio with uvloop
and httptools, answering a 13-byte body with Content-Length, the cheapest realistic app), the
router (``ladle.router.serve`` with a file route source and an access-log sink that formats every
record as its RTR line, as production will), and a load client (asyncio raw sockets, keep-alive,
a fixed request, responses read by Content-Length: far cheaper per request than the servers, so
it does not hide their cost). The client sends the same request to the backend directly and
through the router, alternately, at each concurrency; the ratio compares the two in the same run.

On a 2-core machine the three processes share the cores: at concurrency 32 the direct run has
two busy processes and the routed one three, so the ratio measures the router's CPU cost per
request against the backend's and the client's, not just added latency.

    python -m bench.router_bench [--seconds 5] [--rounds 2] [--concurrency 1,32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httptools

from bench.support import free_port

BODY = b"Hello, world!"
HOST = "bench.apps.localhost"


# The backend: one process, one loop, a protocol object per connection.


class BackendProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
        )
        if not self.keep_alive:
            self.transport.close()


async def run_backend(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BackendProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# The load client.


class ClientProtocol(asyncio.Protocol):
    """Sends ``request``, waits for the whole response, sends again, until told to stop."""

    def __init__(self, request: bytes, latencies: list[int], done: asyncio.Future[None]) -> None:
        self.request = request
        self.latencies = latencies
        self.done = done
        self.buffer = b""
        self.sent_at = 0
        self.running = True
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buffer
            return
        start = buffer.find(b"Content-Length: ", 0, end)
        if start < 0:
            start = buffer.lower().find(b"content-length: ", 0, end)
        length = int(buffer[start + 16 : buffer.find(b"\r\n", start)])
        if len(buffer) < end + 4 + length:
            self.buffer = buffer
            return
        if not buffer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected response: {buffer[:200]!r}")
        self.buffer = buffer[end + 4 + length :]
        self.latencies.append(time.perf_counter_ns() - self.sent_at)
        if self.running:
            self.send()
        elif not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.running and not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost: {exc}"))


async def run_client(port: int, host: str, concurrency: int, seconds: float, warmup: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    request = f"GET /hello?n=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ladle-bench\r\nAccept: */*\r\n\r\n".encode()
    latencies: list[int] = []
    protocols: list[ClientProtocol] = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        _, proto = await loop.create_connection(
            lambda d=done: ClientProtocol(request, latencies, d),  # type: ignore[misc]
            "127.0.0.1",
            port,
        )
        protocols.append(proto)
    await asyncio.sleep(warmup)
    latencies.clear()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    count = len(latencies)
    elapsed = time.perf_counter() - started
    measured = latencies[:count]
    for proto in protocols:
        proto.running = False
    await asyncio.wait([p.done for p in protocols], timeout=5)
    for proto in protocols:
        assert proto.transport is not None
        proto.transport.close()
    measured.sort()
    return {
        "rps": count / elapsed,
        "p50_ms": measured[len(measured) // 2] / 1e6,
        "p99_ms": measured[min(len(measured) - 1, int(len(measured) * 0.99))] / 1e6,
        "requests": count,
    }


# The router, as production runs it, with a sink that formats every record.


class FormattingSink:
    def __init__(self) -> None:
        self.lines = 0

    def write(self, records: Sequence[object]) -> None:
        from ladle.router import AccessLogRecord, format_access_log

        for record in records:
            assert isinstance(record, AccessLogRecord)
            format_access_log(record)
        self.lines += len(records)


def run_router(port: int, routes: Path) -> None:
    from ladle.config import Settings
    from ladle.router import FileRouteSource, serve

    settings = Settings.from_sources({}, router_port=port)
    serve(settings, FileRouteSource(routes), access_log=FormattingSink() if not os.environ.get("NOLOG") else None)


# The driver.


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


def _uvloop_run(coro: object) -> object:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.router_bench", *args], cwd=Path(__file__).parent.parent)


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def measure(port: int, host: str, concurrency: int, seconds: float) -> Result:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.router_bench",
            "--role",
            "client",
            "--port",
            str(port),
            "--host",
            host,
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
        ],
        cwd=Path(__file__).parent.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    return Result(data["rps"], data["p50_ms"], data["p99_ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["driver", "backend", "router", "client"], default="driver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--routes", type=Path)
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.role == "backend":
        _uvloop_run(run_backend(args.port))
        return 0
    if args.role == "router":
        run_router(args.port, args.routes)
        return 0
    if args.role == "client":
        result = _uvloop_run(run_client(args.port, args.host, int(args.concurrency), args.seconds, 1.0))
        print(json.dumps(result))
        return 0

    backend_port, router_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="ladle-router-bench-") as tmp:
        routes = Path(tmp) / "routes.json"
        routes.write_text(
            json.dumps(
                {
                    "routes": [
                        {
                            "host": HOST,
                            "endpoints": [
                                {"port": backend_port, "app_guid": "bench-app", "instance_guid": "bench-instance"}
                            ],
                        }
                    ]
                }
            )
        )
        procs = [_spawn("--role", "backend", "--port", str(backend_port))]
        env_log = os.environ.get("LADLE_LOG_LEVEL")
        os.environ["LADLE_LOG_LEVEL"] = "warning"
        procs.append(_spawn("--role", "router", "--port", str(router_port), "--routes", str(routes)))
        if env_log is None:
            del os.environ["LADLE_LOG_LEVEL"]
        try:
            _wait_port(backend_port, procs[0])
            _wait_port(router_port, procs[1])
            print(
                f"{os.cpu_count()} CPUs; backend, router and client are separate processes; "
                f"{args.seconds:.0f} s per run after 1 s of warm-up, {args.rounds} rounds, "
                "direct and routed alternating",
                flush=True,
            )
            summary: list[str] = []
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                direct: list[Result] = []
                routed: list[Result] = []
                for round_ in range(1, args.rounds + 1):
                    direct.append(measure(backend_port, HOST, concurrency, args.seconds))
                    routed.append(measure(router_port, HOST, concurrency, args.seconds))
                    for name, r in (("direct", direct[-1]), ("router", routed[-1])):
                        print(
                            f"c={concurrency:<3} round {round_} {name:6} {r.rps:9.0f} req/s   "
                            f"p50 {r.p50_ms:7.3f} ms   p99 {r.p99_ms:7.3f} ms",
                            flush=True,
                        )
                d_rps = statistics.median(r.rps for r in direct)
                r_rps = statistics.median(r.rps for r in routed)
                d_p50 = statistics.median(r.p50_ms for r in direct)
                r_p50 = statistics.median(r.p50_ms for r in routed)
                d_p99 = statistics.median(r.p99_ms for r in direct)
                r_p99 = statistics.median(r.p99_ms for r in routed)
                summary.append(
                    f"c={concurrency:<3} req/s ratio {r_rps / d_rps:4.2f} ({r_rps:.0f} vs {d_rps:.0f} direct)   "
                    f"p50 ratio {d_p50 / r_p50:4.2f} ({r_p50:.3f} vs {d_p50:.3f} ms)   "
                    f"p99 ratio {d_p99 / r_p99:4.2f} ({r_p99:.3f} vs {d_p99:.3f} ms)   target >= 0.50"
                )
            print("\nmedians (ratios are routed/direct for req/s, direct/routed for latency):")
            print("\n".join(summary))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
