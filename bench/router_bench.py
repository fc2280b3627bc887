"""Router overhead: requests/s and latency through the router as a ratio of direct requests.

Three processes on this machine: a backend, the router (``ladle.router.serve`` with a file route
source and an access-log sink that formats every record as its RTR line, as production will), and
a load client (asyncio on uvloop with raw sockets, keep-alive, one fixed request, responses read by
Content-Length: cheaper per request than any of the servers, so it does not hide their cost). The
client sends the same request to the same backend instance directly and through the router,
alternately, at each concurrency, and the ratios compare the two within one run.

Backends (``--backend``):

- ``stdlib``: the standard library's ``http.server`` (``ThreadingHTTPServer``, HTTP/1.1
  keep-alive, TCP_NODELAY), a handler answering 13 bytes: the simplest app server there is.
- ``asyncio``: a minimal HTTP/1.1 app server as one writes it with asyncio streams: reads the
  head, parses the request line and headers, reads a Content-Length body, answers 13 bytes.
- ``httptools``: the cheapest server Python can be (uvloop, httptools, a canned answer, no
  header parsing): a stress case that shows the router's cost against almost nothing.

On a 2-core machine the processes share the cores: at concurrency 32 the direct run has two busy
processes and the routed one three, so the ratio measures the router's CPU per request against
the backend's and the client's; at concurrency 1 it measures the extra hop's latency.

Where nginx is installed, the same requests also go through nginx as a reverse proxy in the same
place (one worker process, as the router is one process; keep-alive connections to the backend;
gorouter's forwarding headers; a buffered access log): a compiled proxy's ratios on this machine,
which say how much of a miss is the extra hop itself and how much is the router's own cost.

    python -m bench.router_bench [--backend stdlib,asyncio,httptools] [--seconds 5] [--rounds 3] [--no-nginx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httptools

from bench.support import free_port
from ladle.config import Settings
from ladle.logs import configure_logging
from ladle.router import AccessLogPipe, AccessLogRecord, Endpoint, FileRouteSource, Route, format_access_log, serve
from ladle.router.source import dump_routes

BODY = b"Hello, world!"
HOST = "bench.apps.localhost"  # each backend gets <kind>.bench.apps.localhost


# The backends.


async def handle_asyncio(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One keep-alive connection of the minimal asyncio-streams app server."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
            _method, _target, _version = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def run_asyncio_backend(port: int) -> None:
    server = await asyncio.start_server(handle_asyncio, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


class StdlibHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body are written apart; with Nagle's algorithm on, the body would wait for the
    # client's delayed ACK (40 ms), which measures the kernel, not the servers.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def run_stdlib_backend(port: int) -> None:
    ThreadingHTTPServer.request_queue_size = 1024
    ThreadingHTTPServer(("127.0.0.1", port), StdlibHandler).serve_forever()


class BackendProtocol(asyncio.Protocol):
    """The httptools backend: one protocol object per connection, a canned answer."""

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


async def run_httptools_backend(port: int) -> None:
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

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        for record in records:
            format_access_log(record)
        self.lines += len(records)


def run_router(port: int, routes: Path, access_log: bool) -> None:
    settings = Settings.from_sources({"LADLE_LOG_LEVEL": "warning"}, router_port=port)
    configure_logging(settings.log_level, "text")
    # As ladle serve's router: the sink in a process of its own.
    serve(settings, FileRouteSource(routes), access_log=AccessLogPipe(FormattingSink) if access_log else None)


# The compiled reference proxy.

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {tmp}/nginx-access.log combined buffer=64k;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    keepalive_requests 10000000;
{servers}
}}
"""

NGINX_SERVER = """
    upstream {kind} {{ server 127.0.0.1:{port}; keepalive 64; keepalive_requests 10000000; }}
    server {{
        listen 127.0.0.1:{listen};
        server_name {host};
        location / {{
            proxy_pass http://{kind};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Start $msec;
            proxy_set_header X-Vcap-Request-Id $request_id;
        }}
    }}
"""


def start_nginx(ports: dict[str, int], listen: int, tmp: Path) -> subprocess.Popen[bytes] | None:
    """nginx proxying ``<kind>.HOST`` to each backend on ``listen``; None where nginx is missing."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        return None
    servers = "".join(
        NGINX_SERVER.format(kind=kind, port=port, listen=listen, host=f"{kind}.{HOST}") for kind, port in ports.items()
    )
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers))
    return subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.DEVNULL)


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
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load client failed: {out.stderr.strip()[-2000:]}")
    data = json.loads(out.stdout)
    return Result(data["rps"], data["p50_ms"], data["p99_ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["driver", "backend", "router", "client"], default="driver")
    parser.add_argument("--backend", default="stdlib,asyncio,httptools", help="any of stdlib, asyncio, httptools")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default=HOST)  # for --role client
    parser.add_argument("--routes", type=Path)
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-access-log", action="store_true", help="run the router without an access-log sink")
    parser.add_argument("--no-nginx", action="store_true", help="leave out the nginx reference")
    args = parser.parse_args()
    if args.role == "backend":
        if args.backend == "stdlib":
            run_stdlib_backend(args.port)
        elif args.backend == "asyncio":
            asyncio.run(run_asyncio_backend(args.port))
        else:
            _uvloop_run(run_httptools_backend(args.port))
        return 0
    if args.role == "router":
        run_router(args.port, args.routes, access_log=not args.no_access_log)
        return 0
    if args.role == "client":
        result = _uvloop_run(run_client(args.port, args.host, int(args.concurrency), args.seconds, 1.0))
        print(json.dumps(result))
        return 0

    kinds = [k for k in args.backend.split(",") if k]
    ports = {kind: free_port() for kind in kinds}
    router_port = free_port()
    with tempfile.TemporaryDirectory(prefix="ladle-router-bench-") as tmp:
        routes = Path(tmp) / "routes.json"
        routes.write_text(
            dump_routes(
                Route(f"{kind}.{HOST}", "", {}, (Endpoint("127.0.0.1", port, "bench-app", instance_guid=kind),))
                for kind, port in ports.items()
            )
        )
        procs = [_spawn("--role", "backend", "--backend", kind, "--port", str(port)) for kind, port in ports.items()]
        router_args = ["--role", "router", "--port", str(router_port), "--routes", str(routes)]
        procs.append(_spawn(*router_args, *(["--no-access-log"] if args.no_access_log else [])))
        listening = [*ports.values(), router_port]
        nginx_port = free_port()
        nginx = None if args.no_nginx else start_nginx(ports, nginx_port, Path(tmp))
        if nginx is not None:
            procs.append(nginx)
            listening.append(nginx_port)
        try:
            for port, proc in zip(listening, procs, strict=True):
                _wait_port(port, proc)
            print(
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; backend, router and client "
                f"are separate processes; {args.seconds:g} s per run after 1 s of warm-up, {args.rounds} rounds, "
                "direct, routed"
                + (" and through nginx" if nginx else "")
                + " in turn; access log "
                + ("off" if args.no_access_log else "on (RTR lines formatted)"),
                flush=True,
            )
            summary: list[str] = []
            for kind, port in ports.items():
                for concurrency in [int(c) for c in args.concurrency.split(",")]:
                    summary.append(
                        compare(
                            kind,
                            {"direct": port, "router": router_port, **({"nginx": nginx_port} if nginx else {})},
                            concurrency,
                            seconds=args.seconds,
                            rounds=args.rounds,
                        )
                    )
            print(
                "\nmedians; ratios are proxied/direct for req/s and direct/proxied for latency, target >= 0.50"
                + ("; nginx: the same ratios through nginx, for reference" if nginx else "")
                + ":"
            )
            print("\n".join(summary))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    return 0


def compare(kind: str, ports: dict[str, int], concurrency: int, *, seconds: float, rounds: int) -> str:
    """Rounds of the same load straight at the backend (``ports["direct"]``) and through each
    proxy in ``ports``; the medians as ratios to the direct ones, a line per proxy."""
    host = f"{kind}.{HOST}"
    results: dict[str, list[Result]] = {name: [] for name in ports}
    for round_ in range(1, rounds + 1):
        for name, port in ports.items():
            r = measure(port, host, concurrency, seconds)
            results[name].append(r)
            print(
                f"{kind:9} c={concurrency:<3} round {round_} {name:6} {r.rps:9.0f} req/s   "
                f"p50 {r.p50_ms:7.3f} ms   p99 {r.p99_ms:7.3f} ms",
                flush=True,
            )
    median = {
        name: Result(*(statistics.median(getattr(r, field) for r in rs) for field in ("rps", "p50_ms", "p99_ms")))
        for name, rs in results.items()
    }
    d = median["direct"]
    lines = []
    for name, r in median.items():
        if name == "direct":
            continue
        label = f"{kind:9} c={concurrency:<3}" if name == "router" else f"  {name:>16}"
        lines.append(
            f"{label} req/s {r.rps / d.rps:4.2f} ({r.rps:6.0f} vs {d.rps:6.0f})   "
            f"p50 {d.p50_ms / r.p50_ms:4.2f} ({r.p50_ms:.3f} vs {d.p50_ms:.3f} ms)   "
            f"p99 {d.p99_ms / r.p99_ms:4.2f} ({r.p99_ms:.3f} vs {d.p99_ms:.3f} ms)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
