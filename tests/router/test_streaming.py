"""Bodies streamed both ways, keep-alive on both sides, WebSocket upgrades."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from ladle.router import Route, wait_for_router
from ladle.router.source import dump_routes
from tests.router.backends import AppBackend, RawBackend, read_head
from tests.router.harness import RunningRouter, endpoint, eventually, read_response

MIB = 1024 * 1024


@pytest.fixture
def routed(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> AppBackend:
    backend = app_backend("stream")
    router.set_routes([Route("stream.apps.test", "", {}, (endpoint(backend.port),))])
    return backend


def pattern(size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    block = os.urandom(piece)
    left = size
    while left:
        n = min(piece, left)
        yield block[:n]
        left -= n


def test_chunked_request_body_streams_to_the_app(router: RunningRouter, routed: AppBackend) -> None:
    size = 5 * MIB + 17
    digest = hashlib.sha256()
    sent = []
    for piece in pattern(size, 100_003):
        digest.update(piece)
        sent.append(piece)
    response = httpx.post(router.url + "/upload", content=iter(sent), headers={"Host": "stream.apps.test"}, timeout=30)
    assert response.json() == {"size": size, "sha256": digest.hexdigest(), "name": "stream"}


def test_content_length_request_body(router: RunningRouter, routed: AppBackend) -> None:
    body = os.urandom(3 * MIB)
    response = httpx.post(router.url + "/upload", content=body, headers={"Host": "stream.apps.test"}, timeout=30)
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_chunked_response_streams_to_the_client(router: RunningRouter, routed: AppBackend) -> None:
    with httpx.stream("GET", router.url + "/stream?size=3000000&chunk=7000", headers={"Host": "stream.apps.test"}) as r:
        assert r.headers["transfer-encoding"] == "chunked"
        total = sum(len(piece) for piece in r.iter_raw())
    assert total == 3_000_000


def test_chunks_pass_as_they_come(router: RunningRouter) -> None:
    """The first chunk reaches the client while the app still holds back the rest."""
    go_on = threading.Event()

    def trickle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        go_on.wait(10)
        conn.sendall(b"6\r\nsecond\r\n0\r\nX-Trailer: done\r\n\r\n")

    backend = RawBackend(trickle)
    try:
        router.set_routes([Route("trickle.apps.test", "", {}, (endpoint(backend.port),))])
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: trickle.apps.test\r\nTE: trailers\r\n\r\n")
            data = b""
            while b"first" not in data:
                data += sock.recv(65536)
            assert b"second" not in data
            go_on.set()
            while not data.endswith(b"\r\n\r\n") or b"0\r\n" not in data:
                data += sock.recv(65536)
        assert data.endswith(b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\nX-Trailer: done\r\n\r\n")
    finally:
        backend.stop()


def test_keep_alive_on_both_sides(router: RunningRouter, routed: AppBackend) -> None:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        for n in range(5):
            sock.sendall(f"GET /echo?n={n} HTTP/1.1\r\nHost: stream.apps.test\r\n\r\n".encode())
            status, headers, _ = read_response(sock)
            assert status == b"HTTP/1.1 200 OK"
            assert headers.get(b"connection") != b"close"
    # One upstream connection carried all five: the app saw one client port.
    ports = {tuple(r["client"]) for r in routed.requests}
    assert len(routed.requests) == 5 and len(ports) == 1


def test_pipelined_requests_answered_in_order(router: RunningRouter, routed: AppBackend) -> None:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        sock.sendall(b"".join(f"GET /echo?n={n} HTTP/1.1\r\nHost: stream.apps.test\r\n\r\n".encode() for n in range(4)))
        queries = []
        for _ in range(4):
            _, _, body = read_response(sock)
            queries.append(httpx.Response(200, content=body).json()["query"])
    assert queries == [f"n={n}" for n in range(4)]


def test_websocket_echo(router: RunningRouter, routed: AppBackend) -> None:
    sock = socket.create_connection(("127.0.0.1", router.port), timeout=10)
    with ws_connect("ws://stream.apps.test/ws", sock=sock, open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "stream: hello"
        payload = os.urandom(300_000)
        ws.send(payload)
        assert ws.recv(timeout=10) == payload
    records = eventually(lambda: [r for r in router.records() if r.uri == "/ws"], what="a record of the socket")
    assert records[0].status == 101


def test_websocket_upgrade_header_is_case_insensitive(router: RunningRouter, routed: AppBackend) -> None:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: stream.apps.test\r\nConnection: UPGRADE\r\nUpgrade: WebSocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        status, headers, _ = read_response(sock)
    assert status.startswith(b"HTTP/1.1 101")
    assert headers[b"upgrade"].lower() == b"websocket"
    assert headers[b"sec-websocket-accept"] == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_a_gibibyte_each_way_with_flat_memory(tmp_path: Path, app_backend: Callable[[str], AppBackend]) -> None:
    """The router in its own process (``ladle router``): its resident memory while 1 GiB goes
    up and 1 GiB comes down stays within a few MiB of where it started."""
    backend = app_backend("big")
    routes = tmp_path / "routes.json"
    routes.write_text(dump_routes([Route("big.apps.test", "", {}, (endpoint(backend.port),))]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ladle", "router", "--routes", str(routes), "--port", str(port)],
        env={**env, "LADLE_LOG_LEVEL": "warning"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: _answers(url), timeout=30, what="the router to listen")
        wait_for_router(url, 1)
        with httpx.Client(base_url=url, headers={"Host": "big.apps.test"}, timeout=120) as client:
            client.get("/echo")  # warm: connections, buffers, imports
            baseline = peak = _rss(proc.pid)
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, _rss(proc.pid))
                    stop.wait(0.01)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                size = 1024 * MIB
                up = client.post("/upload", content=pattern(size, MIB))
                assert up.json()["size"] == size
                with client.stream("GET", f"/download?size={size}") as down:
                    received = sum(len(piece) for piece in down.iter_raw(MIB))
                assert received == size
            finally:
                stop.set()
                sampler.join()
        assert peak - baseline < 24 * MIB, f"router RSS grew {(peak - baseline) / MIB:.1f} MiB"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        httpx.get(url + "/health", headers={"Host": "_ladle_router"}, timeout=1)
        return True
    except httpx.TransportError:
        return False


def test_status_reports_versions(router: RunningRouter, routed: AppBackend) -> None:
    status = wait_for_router(router.url, router.source.version())
    assert status["applied_version"] == router.source.version()
    assert status["routes"] == 1 and status["endpoints"] == 1
    started = time.monotonic()
    with pytest.raises(Exception, match="wanted"):
        wait_for_router(router.url, router.source.version() + 1, timeout=0.3)
    assert time.monotonic() - started < 5


def test_expect_100_continue(router: RunningRouter, routed: AppBackend) -> None:
    body = b"x" * 5000
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: stream.apps.test\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        status, _, _ = read_response(sock)
        assert status == b"HTTP/1.1 100 Continue"
        sock.sendall(body)
        status, _, answer = read_response(sock)
    assert status == b"HTTP/1.1 200 OK"
    assert httpx.Response(200, content=answer).json()["size"] == 5000


def test_refused_upgrade_is_answered_and_closed(router: RunningRouter) -> None:
    heads: list[bytes] = []

    def refuse(conn: socket.socket) -> None:
        heads.append(read_head(conn))
        conn.sendall(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\n\r\nnope")
        read_head(conn)

    backend = RawBackend(refuse)
    try:
        router.set_routes([Route("refuse.apps.test", "", {}, (endpoint(backend.port),))])
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(
                b"GET /ws HTTP/1.1\r\nHost: refuse.apps.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            )
            status, headers, body = read_response(sock)
            assert (status, body) == (b"HTTP/1.1 426 Upgrade Required", b"nope")
            assert headers[b"connection"] == b"close"
            assert sock.recv(1) == b""
    finally:
        backend.stop()
    assert b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" in heads[0]


def test_slow_reader_then_pooled_connection_reused(router: RunningRouter, routed: AppBackend) -> None:
    """A client slower than the app makes the router pause reading from the app; the connection
    goes back to the pool reading again, so the next request on it gets its answer."""
    size = 16 * MIB

    def client_blocked() -> bool:
        return bool(router.call(lambda: any(c.writing_paused for c in router.router.clients)))

    for _ in range(3):
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(f"GET /download?size={size} HTTP/1.1\r\nHost: stream.apps.test\r\n\r\n".encode())
            # Read nothing until the router holds more than the client takes: it stops reading
            # from the app. Then take it all.
            eventually(client_blocked, what="the router to hold back the app")
            assert read_response(sock)[2] == bytes(range(256)) * (size // 256)
        response = httpx.get(router.url + "/echo", headers={"Host": "stream.apps.test"}, timeout=5)
        assert response.status_code == 200
