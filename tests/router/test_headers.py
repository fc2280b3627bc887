"""What the app receives and what the client gets back: gorouter's headers, raw targets."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from ladle.router import Route
from tests.router.backends import AppBackend, RawBackend, read_head
from tests.router.harness import RunningRouter, endpoint, raw_exchange, read_response

APP = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def echo(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> AppBackend:
    backend = app_backend("echo")
    router.set_routes([Route("echo.apps.test", "", {}, (endpoint(backend.port, 3, guid="instance-guid-3"),))])
    return backend


def headers_of(body: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in body["headers"]:  # type: ignore[attr-defined]
        out.setdefault(name, []).append(value)
    return out


def echo_raw(router: RunningRouter, request: bytes) -> tuple[dict[bytes, bytes], dict[str, object]]:
    status, headers, body = raw_exchange(router.port, request)
    assert status == b"HTTP/1.1 200 OK", (status, body)
    return headers, json.loads(body)


def test_gorouter_headers_added(router: RunningRouter, echo: AppBackend) -> None:
    before = int(time.time() * 1000)
    headers, body = echo_raw(router, b"GET /echo HTTP/1.1\r\nHost: echo.apps.test\r\nUser-Agent: t\r\n\r\n")
    after = int(time.time() * 1000)
    seen = headers_of(body)
    assert seen["x-forwarded-for"] == ["127.0.0.1"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert before <= int(seen["x-request-start"][0]) <= after
    request_id = seen["x-vcap-request-id"][0]
    assert uuid.UUID(request_id).version == 4
    assert seen["x-cf-applicationid"] == [APP]
    assert seen["x-cf-instanceindex"] == ["3"]
    assert seen["x-cf-instanceid"] == ["instance-guid-3"]
    assert "x-forwarded-host" not in seen  # gorouter passes the client's, adds none
    # The client learns the id too (the app set none).
    assert headers[b"x-vcap-request-id"] == request_id.encode()


def test_client_values_kept_appended_or_replaced(router: RunningRouter, echo: AppBackend) -> None:
    request = (
        b"GET /echo HTTP/1.1\r\nHost: echo.apps.test\r\n"
        b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.1, 10.0.0.1\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example.com\r\n"
        b"X-Request-Start: 1234567890123\r\nX-Vcap-Request-Id: client-chosen\r\n"
        b"X-CF-ApplicationID: forged\r\nX-CF-InstanceIndex: 99\r\nX-CF-InstanceID: forged\r\n\r\n"
    )
    _, body = echo_raw(router, request)
    seen = headers_of(body)
    assert seen["x-forwarded-for"] == ["203.0.113.7, 198.51.100.1, 10.0.0.1, 127.0.0.1"]
    assert seen["x-forwarded-proto"] == ["https"]
    assert seen["x-forwarded-host"] == ["shop.example.com"]
    assert seen["x-request-start"] == ["1234567890123"]
    assert len(seen["x-vcap-request-id"]) == 1 and seen["x-vcap-request-id"][0] != "client-chosen"
    assert seen["x-cf-applicationid"] == [APP]
    assert seen["x-cf-instanceindex"] == ["3"]
    assert seen["x-cf-instanceid"] == ["instance-guid-3"]


def test_empty_client_values(router: RunningRouter, echo: AppBackend) -> None:
    """As gorouter: an empty X-Forwarded-Proto is replaced by http; an X-Request-Start, even
    empty, is left alone."""
    request = b"GET /echo HTTP/1.1\r\nHost: echo.apps.test\r\nX-Forwarded-Proto: \r\nX-Request-Start: \r\n\r\n"
    _, body = echo_raw(router, request)
    seen = headers_of(body)
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-request-start"] == [""]


def test_every_request_gets_a_fresh_request_id(router: RunningRouter, echo: AppBackend) -> None:
    with httpx.Client(base_url=router.url, headers={"Host": "echo.apps.test"}) as client:
        ids = {headers_of(client.get("/echo").json())["x-vcap-request-id"][0] for _ in range(20)}
    assert len(ids) == 20


def test_hop_by_hop_headers_stay_on_their_hop(router: RunningRouter, echo: AppBackend) -> None:
    request = (
        b"GET /echo HTTP/1.1\r\nHost: echo.apps.test\r\nConnection: keep-alive, X-Secret-Hop\r\n"
        b"X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\n"
        b"TE: trailers\r\nX-Kept: yes\r\n\r\n"
    )
    _, body = echo_raw(router, request)
    seen = headers_of(body)
    for gone in ("connection", "x-secret-hop", "keep-alive", "proxy-authorization"):
        assert gone not in seen, gone
    assert seen["x-kept"] == ["yes"]
    assert seen["te"] == ["trailers"]
    assert seen["host"] == ["echo.apps.test"]


def test_raw_path_and_query_pass_byte_for_byte(router: RunningRouter) -> None:
    def echo_request_line(conn: socket.socket) -> None:
        line = read_head(conn).split(b"\r\n", 1)[0]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(line), line))

    backend = RawBackend(echo_request_line)
    try:
        router.set_routes([Route("raw.apps.test", "", {}, (endpoint(backend.port),))])
        targets = [
            b"/a%2Fb/../c?x=%20&y",
            b"/%7Euser/./caf%C3%A9;p=1?q=%2F%3F&&z=%zz#fragment",
            b"//double//slashes/?",
            b"/UPPER/Case?Mixed=Case",
        ]
        for target in targets:
            _, _, body = raw_exchange(router.port, b"GET " + target + b" HTTP/1.1\r\nHost: raw.apps.test\r\n\r\n")
            assert body == b"GET " + target + b" HTTP/1.1", target
    finally:
        backend.stop()


def test_response_headers_from_the_app(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("b")
    router.set_routes([Route("resp.apps.test", "", {}, (endpoint(backend.port),))])
    response = httpx.get(router.url + "/echo?status=201", headers={"Host": "resp.apps.test"})
    assert response.status_code == 201
    assert response.headers["x-backend"] == "b"
    assert response.headers["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["x-vcap-request-id"])
    assert "date" in response.headers


def test_http10_client_gets_a_closed_delimited_answer(router: RunningRouter, echo: AppBackend) -> None:
    status, headers, body = raw_exchange(router.port, b"GET /stream?size=1000 HTTP/1.0\r\nHost: echo.apps.test\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert b"transfer-encoding" not in headers
    assert headers[b"connection"] == b"close"
    assert len(body) == 1000


def test_head_request(router: RunningRouter, echo: AppBackend) -> None:
    with httpx.Client(base_url=router.url, headers={"Host": "echo.apps.test"}) as client:
        head = client.head("/download?size=5000")
        assert head.status_code == 200
        assert head.headers["content-length"] == "5000"
        assert head.content == b""
        # The connection to the app stays usable after a body-less answer.
        assert client.get("/download?size=10").content == bytes(range(10))


def test_connection_close_and_http10_keep_alive(router: RunningRouter, echo: AppBackend) -> None:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: echo.apps.test\r\nConnection: close\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert (status, headers[b"connection"]) == (b"HTTP/1.1 200 OK", b"close")
        assert sock.recv(1) == b""
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(b"GET /download?size=10 HTTP/1.0\r\nHost: echo.apps.test\r\nConnection: keep-alive\r\n\r\n")
            status, headers, body = read_response(sock)
            assert (status, headers[b"connection"], body) == (b"HTTP/1.1 200 OK", b"keep-alive", bytes(range(10)))
