"""Clients that abuse the connection itself: oversized headers and bodies, uploads that trickle and
never finish, and a thousand connections that never send a request."""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.archives import make_zip
from tests.support.cf import World
from tests.support.matchers import is_cf_error
from tests.support.server import RunningServer, run_server
from tests.support.waiting import wait_until

# Short limits, so the suite sees them act within seconds.
BODY_TIMEOUT = 2.0
HEADER_TIMEOUT = 3.0
MAX_PACKAGE = 1024 * 1024
BOUNDARY = "hostile-boundary"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Both ends of every connection live in this process: make room for two thousand of them.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    settings = {
        "body_timeout": BODY_TIMEOUT,
        "body_min_rate": 1024,
        "header_timeout": HEADER_TIMEOUT,
        "max_package_size": MAX_PACKAGE,
    }
    with run_server("sqlite", tmp_path_factory.mktemp("hostile"), "ladle_test_hostile", **settings) as server:
        yield World(server)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _address(server: RunningServer) -> tuple[str, int]:
    return "127.0.0.1", server.settings.port


def _read_response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, object] | None]:
    """The status and JSON body of the one response a raw socket gets before the server closes it."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


def _new_package(world: World) -> str:
    app = world.app()
    r = world.admin.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["guid"])


def _scratch_uploads(world: World) -> list[Path]:
    return [p for p in (world.server.settings.scratch_dir / "uploads").glob("*") if p.is_file()]


def test_oversized_headers_are_refused_in_the_envelope(limited: World) -> None:
    for headers in ({"X-Big": "a" * 100_000}, {f"X-{i}": "v" for i in range(10_000)}):
        r = httpx.get(f"{limited.server.url}/v3/apps", headers=headers)
        assert r.status_code == 431
        assert r.json() == {
            "errors": [
                {"detail": "The request line and headers are too large", "title": "CF-HeadersTooLarge", "code": 10004}
            ]
        }
    # A request line too long for most clients to send at all.
    with socket.create_connection(_address(limited.server)) as sock:
        sock.sendall(b"GET /v3/apps?" + b"q=" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = _read_response(sock, 5)
    assert status == 431 and is_cf_error(body)
    # Ordinary requests, a large token included, still pass.
    assert limited.admin.get("/v3/apps", headers={"X-Padding": "p" * 8000}).status_code == 200


def test_oversized_bodies_are_refused_in_the_envelope(limited: World) -> None:
    r = limited.admin.post("/v3/organizations", content=b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'"}')
    assert r.status_code == 400
    assert r.json()["errors"][0]["title"] == "CF-MessageParseError"
    guid = _new_package(limited)
    # Past the upload limit: the package limit plus the room an upload gets for zip overhead.
    big = make_zip({"big.bin": os.urandom(limited.server.settings.max_upload_size + 1024)})
    r = limited.admin.post(f"/v3/packages/{guid}/upload", files={"bits": ("p.zip", big)})
    assert r.status_code == 413 and r.json()["errors"][0]["title"] == "CF-PackageUploadTooLarge"
    assert limited.admin.get(f"/v3/packages/{guid}").json()["state"] == "AWAITING_UPLOAD"
    assert _scratch_uploads(limited) == []


def test_trickling_uploads_time_out_and_hold_nothing(limited: World) -> None:
    host, port = _address(limited.server)
    token = limited.admin.token
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="bits"; filename="p.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    # More trickling uploads than the server has job workers and pooled threads together.
    packages = [_new_package(limited) for _ in range(50)]
    sockets = []
    for guid in packages:
        sock = socket.create_connection((host, port))
        sock.sendall(
            f"POST /v3/packages/{guid}/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 10000000\r\n\r\n".encode()
            + head
            + b"PK"
        )
        sockets.append(sock)
    started = time.monotonic()
    # While they trickle, a real upload is accepted and its job runs.
    honest = _new_package(limited)
    r = limited.admin.post(f"/v3/packages/{honest}/upload", files={"bits": ("p.zip", make_zip({"a": "b"}))})
    assert r.status_code == 200, r.text
    assert limited.admin.wait_for(f"/v3/packages/{honest}", lambda p: p["state"] != "PROCESSING_UPLOAD")["state"] == (
        "READY"
    )
    # A few bytes a second, until the server gives up on them.
    answered: dict[int, tuple[int, dict[str, object] | None]] = {}
    while len(answered) < len(sockets) and time.monotonic() - started < BODY_TIMEOUT * 5:
        for index, sock in enumerate(sockets):
            if index in answered:
                continue
            try:
                sock.sendall(b"\x03\x04")
            except OSError:
                answered[index] = _read_response(sock, 5)
        time.sleep(0.2)
    for sock in sockets:
        if sockets.index(sock) not in answered:
            answered[sockets.index(sock)] = _read_response(sock, 5)
    elapsed = time.monotonic() - started
    assert elapsed < BODY_TIMEOUT * 5
    expected = (
        408,
        {
            "errors": [
                {"detail": "The request body did not arrive in time", "title": "CF-RequestTimeout", "code": 10004}
            ]
        },
    )
    assert sorted(answered) == list(range(len(sockets)))
    assert all(answer == expected for answer in answered.values()), answered
    for sock in sockets:
        sock.close()
    for guid in packages:
        package = limited.admin.get(f"/v3/packages/{guid}").json()
        assert (package["state"], package["data"]["checksum"]["value"]) == ("AWAITING_UPLOAD", None)
    assert _scratch_uploads(limited) == []


def test_a_thousand_idle_connections_do_not_stop_the_server(limited: World) -> None:
    host, port = _address(limited.server)
    idle = [socket.create_connection((host, port)) for _ in range(1000)]
    slow_headers = socket.create_connection((host, port))
    slow_headers.sendall(b"GET /v3/apps HTTP/1.1\r\nHost: x\r\n")
    try:
        opened = time.monotonic()
        # Others are still answered, at once.
        for _ in range(20):
            began = time.monotonic()
            assert limited.admin.get("/v3/organizations").status_code == 200
            assert httpx.get(f"{limited.server.url}/v3/info").status_code == 200
            assert time.monotonic() - began < 2
        # And the idle connections (and the one still sending its headers) are closed by the server.
        for sock in [*idle, slow_headers]:
            sock.settimeout(max(HEADER_TIMEOUT * 3 - (time.monotonic() - opened), 0.1))
            assert sock.recv(1) == b""
        assert time.monotonic() - opened < HEADER_TIMEOUT * 3
    finally:
        for sock in [*idle, slow_headers]:
            sock.close()
    wait_until(lambda: limited.admin.get("/v3/info").status_code == 200, timeout=5)
