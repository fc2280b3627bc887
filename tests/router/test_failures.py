"""Instances that fail, go away or misbehave, and clients that do: what the router answers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from ladle.router import AccessLogRecord, Route, wait_for_router
from tests.router.backends import AppBackend, RawBackend, read_head
from tests.router.harness import RunningRouter, endpoint, eventually, raw_exchange, read_response

BAD_GATEWAY = b"502 Bad Gateway: Registered endpoint failed to handle the request.\n"


def dead_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raw_backend(router: RunningRouter, handler: Callable[[socket.socket], None], host: str) -> RawBackend:
    backend = RawBackend(handler)
    router.set_routes([Route(host, "", {}, (endpoint(backend.port),))])
    return backend


def test_502_when_the_app_closes_before_answering(router: RunningRouter) -> None:
    def hang_up(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-")  # a head cut short

    backend = raw_backend(router, hang_up, "flaky.apps.test")
    try:
        status, headers, body = raw_exchange(
            router.port, b"POST /x HTTP/1.1\r\nHost: flaky.apps.test\r\nContent-Length: 2\r\n\r\nhi"
        )
    finally:
        backend.stop()
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert body == BAD_GATEWAY
    assert headers[b"x-cf-routererror"] == b"endpoint_failure (EOF)"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert backend.connections == 1  # a POST that reached the app is not sent again


def test_idempotent_request_tries_each_endpoint(
    router: RunningRouter, app_backend: Callable[[str], AppBackend]
) -> None:
    def hang_up(conn: socket.socket) -> None:
        read_head(conn)

    flaky = [RawBackend(hang_up), RawBackend(hang_up)]
    try:
        router.set_routes([Route("flaky.apps.test", "", {}, tuple(endpoint(b.port, i) for i, b in enumerate(flaky)))])
        status, _, body = raw_exchange(router.port, b"GET /x HTTP/1.1\r\nHost: flaky.apps.test\r\n\r\n")
        assert (status, body) == (b"HTTP/1.1 502 Bad Gateway", BAD_GATEWAY)
        assert [b.connections for b in flaky] == [1, 1]  # each tried once, then given up

        live = app_backend("live")
        router.set_routes([Route("flaky.apps.test", "", {}, (endpoint(flaky[0].port, 0), endpoint(live.port, 1)))])
        for _ in range(4):
            assert httpx.get(router.url + "/echo", headers={"Host": "flaky.apps.test"}).json()["name"] == "live"
    finally:
        for backend in flaky:
            backend.stop()


def test_body_cut_off_mid_response_closes_the_client(router: RunningRouter) -> None:
    def cut(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")

    backend = raw_backend(router, cut, "cut.apps.test")
    try:
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: cut.apps.test\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    finally:
        backend.stop()
    # The status was already on its way: all the router can do is end the connection.
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"\r\n\r\nonly part")
    records = eventually(lambda: [r for r in router.records() if r.host == "cut.apps.test"])
    assert records[0].router_error.startswith("endpoint_failure")


def test_dead_endpoint_is_retried_elsewhere(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    live = app_backend("live")
    dead = dead_port()
    router.set_routes([Route("half.apps.test", "", {}, (endpoint(dead, 0), endpoint(live.port, 1)))])
    with httpx.Client(base_url=router.url, headers={"Host": "half.apps.test"}) as client:
        for n in range(10):
            get = client.get("/echo")
            assert get.status_code == 200 and get.json()["name"] == "live"
            # A dial failure means nothing was sent: even a POST goes to the next endpoint.
            post = client.post("/echo", content=b"x" * (n * 1000))
            assert post.status_code == 200 and post.json()["body_size"] == n * 1000


def test_all_endpoints_dead_is_502(router: RunningRouter) -> None:
    port = dead_port()
    router.set_routes([Route("gone.apps.test", "", {}, (endpoint(port),))])
    response = httpx.get(router.url, headers={"Host": "gone.apps.test"})
    assert response.status_code == 502
    assert response.content == BAD_GATEWAY
    assert response.headers["x-cf-routererror"] == (
        f"endpoint_failure (dial tcp 127.0.0.1:{port}: connect: connection refused)"
    )


def test_removed_endpoint_finishes_in_flight_requests(
    router: RunningRouter, app_backend: Callable[[str], AppBackend]
) -> None:
    old, new = app_backend("old"), app_backend("new")
    router.set_routes([Route("roll.apps.test", "", {}, (endpoint(old.port, 0),))])
    with httpx.Client(base_url=router.url, headers={"Host": "roll.apps.test"}, timeout=30) as client:
        assert client.get("/echo").json()["name"] == "old"  # leaves a pooled connection to "old"
    result: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: result.append(httpx.get(router.url + "/slow", headers={"Host": "roll.apps.test"}, timeout=30))
    )
    slow.start()
    assert old.slow_started.wait(10)
    version = router.set_routes([Route("roll.apps.test", "", {}, (endpoint(new.port, 1),))])
    # The router says "old" is draining: one request still in flight.
    status = router.call(router.router.status)
    old_addr = f"127.0.0.1:{old.port}"
    assert [(d["address"], d["in_flight"]) for d in status["draining"]] == [(old_addr, 1)]
    drained: list[dict[str, object]] = []
    waiter = threading.Thread(target=lambda: drained.append(wait_for_router(router.url, version, drained=old_addr)))
    waiter.start()
    # New requests go to "new" at once.
    names = [httpx.get(router.url + "/echo", headers={"Host": "roll.apps.test"}).json()["name"] for _ in range(5)]
    assert names == ["new"] * 5
    assert not drained  # still waiting for the slow request
    old.release.set()
    slow.join(10)
    waiter.join(10)
    assert drained and drained[0]["draining"] == []
    assert result[0].status_code == 200 and result[0].json() == {"name": "old", "slow": True}
    # Drained: nothing left of "old", no idle connection kept to it.
    eventually(lambda: not router.call(router.router.status)["draining"], what="the old endpoint to drain")
    assert router.call(lambda: [s for s in router.router.states.values() if s.endpoint.port == old.port]) == []


def test_idle_connections_to_a_removed_endpoint_are_closed(router: RunningRouter) -> None:
    closed = threading.Event()

    def keep_alive(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.settimeout(30)
        if conn.recv(1) == b"":
            closed.set()

    backend = raw_backend(router, keep_alive, "ka.apps.test")
    try:
        assert raw_exchange(router.port, b"GET / HTTP/1.1\r\nHost: ka.apps.test\r\n\r\n")[2] == b"ok"
        assert not closed.is_set()
        router.set_routes([])
        assert closed.wait(10)
    finally:
        backend.stop()


def test_malformed_requests_get_400_and_the_router_goes_on(
    router: RunningRouter, app_backend: Callable[[str], AppBackend]
) -> None:
    backend = app_backend("ok")
    router.set_routes([Route("ok.apps.test", "", {}, (endpoint(backend.port),))])
    bad_requests = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: ok.apps.test\r\nBad Header\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: ok.apps.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: ok.apps.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: ok.apps.test\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: ok.apps.test\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
    ]
    for request in bad_requests:
        status, headers, _ = raw_exchange(router.port, request)
        assert status.startswith(b"HTTP/1.1 400 Bad Request"), (request, status)
        assert headers[b"connection"] == b"close"
    huge = b"GET / HTTP/1.1\r\nHost: ok.apps.test\r\n" + b"X-Big: " + b"a" * (2 * 1024 * 1024) + b"\r\n\r\n"
    status, _, _ = raw_exchange(router.port, huge)
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert httpx.get(router.url + "/echo", headers={"Host": "ok.apps.test"}).json()["name"] == "ok"


def test_many_idle_clients_do_not_block_others(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("busy")
    router.set_routes([Route("busy.apps.test", "", {}, (endpoint(backend.port),))])
    idle = [socket.create_connection(("127.0.0.1", router.port)) for _ in range(400)]
    try:
        # Some silent, some stuck half way through a head: none holds the others up.
        for sock in idle[::2]:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: busy.apps.test\r\n")
        started = time.monotonic()
        with httpx.Client(base_url=router.url, headers={"Host": "busy.apps.test"}) as client:
            for _ in range(20):
                assert client.get("/echo").status_code == 200
        assert time.monotonic() - started < 5
        eventually(lambda: router.call(lambda: len(router.router.clients)) >= 400, what="all clients accepted")
    finally:
        for sock in idle:
            sock.close()


def test_client_gone_mid_request(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("slow")
    router.set_routes([Route("slow.apps.test", "", {}, (endpoint(backend.port),))])
    with socket.create_connection(("127.0.0.1", router.port)) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: slow.apps.test\r\n\r\n")
        assert backend.slow_started.wait(10)
    records = eventually(lambda: [r for r in router.records() if r.uri == "/slow"], what="the record")
    assert records[0].status == 499
    eventually(lambda: not router.call(lambda: [s.in_flight for s in router.router.states.values() if s.in_flight]))
    backend.release.set()


class BlockedSink:
    def __init__(self) -> None:
        self.gate = threading.Event()

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        self.gate.wait(30)


def test_a_blocked_access_log_sink_never_slows_requests(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    sink = BlockedSink()
    running = router_with(access_log=sink, access_log_capacity=50)
    try:
        backend = app_backend("b")
        running.set_routes([Route("log.apps.test", "", {}, (endpoint(backend.port),))])
        with httpx.Client(base_url=running.url, headers={"Host": "log.apps.test"}) as client:
            for _ in range(200):
                assert client.get("/echo").status_code == 200
        queue = running.router.access_log
        assert queue is not None
        assert running.call(lambda: queue.dropped) >= 100
    finally:
        sink.gate.set()


def test_failed_pooled_connection(router: RunningRouter) -> None:
    """A pooled connection the app drops on the next request (as when it closes an idle
    connection just as the router reuses it): a GET goes out again on a new connection, as Go's
    transport does; a POST may have been acted on, so it gets a 502."""

    def first_only(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        read_head(conn)  # the next request on this connection is dropped

    backend = raw_backend(router, first_only, "stale.apps.test")
    try:
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            for n in range(3):
                sock.sendall(f"GET /{n} HTTP/1.1\r\nHost: stale.apps.test\r\n\r\n".encode())
                assert read_response(sock)[::2] == (b"HTTP/1.1 200 OK", b"ok")
            assert backend.connections == 3
            sock.sendall(b"POST / HTTP/1.1\r\nHost: stale.apps.test\r\nContent-Length: 0\r\n\r\n")
            status, _, body = read_response(sock)
            assert (status, body) == (b"HTTP/1.1 502 Bad Gateway", BAD_GATEWAY)
    finally:
        backend.stop()


def test_idle_client_connections_time_out(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    running = router_with(idle_timeout=1.0)
    backend = app_backend("b")
    running.set_routes([Route("idle.apps.test", "", {}, (endpoint(backend.port),))])
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: idle.apps.test\r\n\r\n")
        assert read_response(sock)[0] == b"HTTP/1.1 200 OK"
        started = time.monotonic()
        assert sock.recv(1) == b""  # the router closed it
        assert 0.9 < time.monotonic() - started < 5


def test_app_that_never_answers_times_out(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    running = router_with(endpoint_timeout=1.0)
    backend = app_backend("slow")
    running.set_routes([Route("mute.apps.test", "", {}, (endpoint(backend.port),))])
    response = httpx.get(running.url + "/slow", headers={"Host": "mute.apps.test"}, timeout=10)
    assert response.status_code == 502
    assert response.headers["x-cf-routererror"] == "endpoint_failure (context deadline exceeded)"


def test_stopping_lets_requests_in_flight_finish(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    running = router_with()
    backend = app_backend("slow")
    running.set_routes([Route("stop.apps.test", "", {}, (endpoint(backend.port),))])
    result: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: result.append(httpx.get(running.url + "/slow", headers={"Host": "stop.apps.test"}, timeout=30))
    )
    slow.start()
    assert backend.slow_started.wait(10)
    stopping = asyncio.run_coroutine_threadsafe(running.router.stop(grace=10), running.loop)
    # No longer accepting: a new connection is refused while the old request goes on.
    eventually(lambda: _refused(running.port), what="the listener to close")
    backend.release.set()
    stopping.result(15)
    slow.join(10)
    assert result[0].status_code == 200
    assert result[0].headers["connection"] == "close"


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False
