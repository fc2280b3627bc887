"""Access-log records per request, and gorouter's line format for them."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ladle.router import AccessLogRecord, Route, format_access_log
from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter, endpoint, eventually

APP = "11111111-2222-3333-4444-555555555555"


def test_record_of_a_routed_request(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("b")
    router.set_routes([Route("log.apps.test", "", {}, (endpoint(backend.port, 2, guid="inst-2"),))])
    before = time.time_ns()
    response = httpx.post(
        router.url + "/echo?a=%20b",
        content=b"12345",
        headers={
            "Host": "Log.Apps.Test:8081",
            "Referer": "https://example.com/",
            "User-Agent": "tester/1.0",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    records = eventually(router.records, what="a record")
    record = records[0]
    assert record.host == "Log.Apps.Test:8081"
    assert (record.method, record.uri, record.protocol, record.status) == ("POST", "/echo?a=%20b", "HTTP/1.1", 200)
    assert record.bytes_received == 5
    assert record.bytes_sent == len(response.content)
    assert (record.referer, record.user_agent) == ("https://example.com/", "tester/1.0")
    assert record.remote_addr.startswith("127.0.0.1:")
    assert record.backend_addr == f"127.0.0.1:{backend.port}"
    assert record.x_forwarded_for == "203.0.113.9, 127.0.0.1"
    assert record.x_forwarded_proto == "http"
    assert record.vcap_request_id == response.headers["x-vcap-request-id"]
    assert before <= record.received_at_ns <= time.time_ns()
    assert 0 <= record.gorouter_time <= record.response_time < 5
    assert (record.app_id, record.app_index, record.instance_id, record.process_type) == (APP, "2", "inst-2", "web")
    assert record.router_error == ""


def test_record_of_an_unknown_route(router: RunningRouter) -> None:
    httpx.get(router.url + "/nope", headers={"Host": "missing.apps.test"})
    record = eventually(router.records, what="a record")[0]
    assert (record.status, record.router_error, record.app_id, record.backend_addr) == (404, "unknown_route", "", "")
    assert record.bytes_sent == len("404 Not Found: Requested route ('missing.apps.test') does not exist.\n")


def record(**changes: object) -> AccessLogRecord:
    values: dict[str, object] = {
        "host": "myapp.apps.localhost",
        "method": "GET",
        "uri": "/some/path?x=1",
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes_received": 0,
        "bytes_sent": 13,
        "referer": "",
        "user_agent": "curl/8.5.0",
        "remote_addr": "127.0.0.1:51234",
        "backend_addr": "127.0.0.1:61001",
        "x_forwarded_for": "127.0.0.1",
        "x_forwarded_proto": "http",
        "vcap_request_id": "0b1c2d3e-4f50-4617-8899-aabbccddeeff",
        "received_at_ns": 1_700_000_000_123_456_789,
        "response_time": 0.0123456789,
        "gorouter_time": 0.000321,
        "app_id": APP,
        "app_index": "0",
        "instance_id": "e0b7b6f4-2c4d-4a8e-6d3f-1a2b",
        "process_type": "web",
        "router_error": "",
    }
    values.update(changes)
    return AccessLogRecord(**values)  # type: ignore[arg-type]


def test_line_format_is_gorouters() -> None:
    assert format_access_log(record()) == (
        'myapp.apps.localhost - [2023-11-14T22:13:20.123456789Z] "GET /some/path?x=1 HTTP/1.1" 200 0 13 "-" '
        '"curl/8.5.0" "127.0.0.1:51234" "127.0.0.1:61001" x_forwarded_for:"127.0.0.1" x_forwarded_proto:"http" '
        'vcap_request_id:"0b1c2d3e-4f50-4617-8899-aabbccddeeff" response_time:0.012346 gorouter_time:0.000321 '
        f'app_id:"{APP}" app_index:"0" instance_id:"e0b7b6f4-2c4d-4a8e-6d3f-1a2b" x_cf_routererror:"-"'
    )


def test_line_format_quotes_dashes_and_truncates() -> None:
    line = format_access_log(
        record(status=0, user_agent='say "hi"\\\t\x01é', backend_addr="", app_id="", router_error="unknown_route")
    )
    assert '"GET /some/path?x=1 HTTP/1.1" "-" 0 13' in line
    assert '"say \\"hi\\"\\\\\\t\\x01é"' in line
    assert ' "127.0.0.1:51234" "-" x_forwarded_for' in line
    assert 'app_id:"-"' in line and line.endswith('x_cf_routererror:"unknown_route"')
    long = format_access_log(record(uri="/" + "a" * 30_000, referer="r" * 2_000))
    assert "...REQUEST-URI-TOO-LONG-TO-LOG--TRUNCATED" in long
    assert "...REFERER-TOO-LONG-TO-LOG--TRUNCATED" in long
    assert len(long) < 20_000 + 2_000
    assert "a" * 30_000 in format_access_log(record(uri="/" + "a" * 30_000), truncate=False)
