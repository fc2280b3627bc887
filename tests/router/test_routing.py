"""Which endpoint a request reaches: host, path prefix, wildcard, balancing, pinning, 404s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx

from ladle.router import Route
from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter, endpoint, raw_exchange

APP = "11111111-2222-3333-4444-555555555555"


def get(router: RunningRouter, host: str, path: str = "/echo", **headers: str) -> httpx.Response:
    return httpx.get(router.url + path, headers={"Host": host, **headers}, timeout=10)


def test_host_match_ignores_case_and_port(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    a, b = app_backend("a"), app_backend("b")
    router.set_routes(
        [Route("a.apps.test", "", {}, (endpoint(a.port),)), Route("b.apps.test", "", {}, (endpoint(b.port),))]
    )
    assert get(router, "a.apps.test").json()["name"] == "a"
    assert get(router, "B.Apps.TEST").json()["name"] == "b"
    assert get(router, "A.apps.test:8081").json()["name"] == "a"


def test_longest_path_prefix_on_whole_segments(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    root, api, v2 = app_backend("root"), app_backend("api"), app_backend("v2")
    router.set_routes(
        [
            Route("shop.apps.test", "", {}, (endpoint(root.port),)),
            Route("shop.apps.test", "/api", {}, (endpoint(api.port),)),
            Route("shop.apps.test", "/api/v2", {}, (endpoint(v2.port),)),
        ]
    )
    cases = {
        "/": "root",
        "/api": "api",
        "/api/": "api",
        "/API/users?x=1": "api",
        "/api/v2/orders": "v2",
        "/api/v2": "v2",
        "/api/v21": "api",  # a prefix of a segment is not a match
        "/apis": "root",
        "/other/api": "root",
    }
    for path, name in cases.items():
        assert get(router, "shop.apps.test", path).json()["name"] == name, path


def test_path_route_without_root_route(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    api = app_backend("api")
    router.set_routes([Route("docs.apps.test", "/api", {}, (endpoint(api.port),))])
    assert get(router, "docs.apps.test", "/api/x").json()["name"] == "api"
    missing = get(router, "docs.apps.test", "/elsewhere")
    assert missing.status_code == 404
    assert missing.text == "404 Not Found: Requested route ('docs.apps.test') does not exist.\n"


def test_wildcard_routes_after_exact_ones(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    exact, wild, deeper = app_backend("exact"), app_backend("wild"), app_backend("deeper")
    router.set_routes(
        [
            Route("www.apps.test", "", {}, (endpoint(exact.port),)),
            Route("*.apps.test", "", {}, (endpoint(wild.port),)),
            Route("*.eu.apps.test", "", {}, (endpoint(deeper.port),)),
        ]
    )
    assert get(router, "www.apps.test").json()["name"] == "exact"
    assert get(router, "anything.apps.test").json()["name"] == "wild"
    assert get(router, "a.b.apps.test").json()["name"] == "wild"
    assert get(router, "shop.eu.apps.test").json()["name"] == "deeper"
    assert get(router, "apps.test").status_code == 404


def test_unknown_route_is_gorouters_404_byte_for_byte(router: RunningRouter) -> None:
    status, headers, body = raw_exchange(router.port, b"GET /x HTTP/1.1\r\nHost: nothing.apps.test:8081\r\n\r\n")
    assert status == b"HTTP/1.1 404 Not Found"
    assert body == b"404 Not Found: Requested route ('nothing.apps.test:8081') does not exist.\n"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"x-cf-routererror"] == b"unknown_route"
    assert headers[b"cache-control"] == b"no-cache, no-store"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"content-length"] == str(len(body)).encode()


def test_route_without_endpoints_is_unknown(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("b")
    router.set_routes([Route("empty.apps.test", "", {}, ()), Route("*.apps.test", "", {}, (endpoint(backend.port),))])
    # Gorouter's table holds only live endpoints: a route with none does not exist, so the
    # wildcard answers.
    assert get(router, "empty.apps.test").json()["name"] == "b"
    router.set_routes([Route("empty.apps.test", "", {}, ())])
    response = get(router, "empty.apps.test")
    assert response.status_code == 404
    assert response.text == "404 Not Found: Requested route ('empty.apps.test') does not exist.\n"
    assert response.headers["x-cf-routererror"] == "unknown_route"


def test_round_robin_over_three_backends(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backends = [app_backend(f"b{i}") for i in range(3)]
    router.set_routes([Route("rr.apps.test", "", {}, tuple(endpoint(b.port, i) for i, b in enumerate(backends)))])
    with httpx.Client(base_url=router.url, headers={"Host": "rr.apps.test"}) as client:
        names = [client.get("/echo").json()["name"] for _ in range(9)]
    # Each in turn: every window of three holds all three.
    for start in range(0, 9, 3):
        assert sorted(names[start : start + 3]) == ["b0", "b1", "b2"], names
    assert Counter(names) == {"b0": 3, "b1": 3, "b2": 3}


def test_least_connection_avoids_the_busy_endpoint(
    router: RunningRouter, app_backend: Callable[[str], AppBackend]
) -> None:
    busy, free = app_backend("busy"), app_backend("free")
    router.set_routes(
        [
            Route(
                "lc.apps.test",
                "",
                {"loadbalancing": "least-connection"},
                (endpoint(busy.port, 0), endpoint(free.port, 1)),
            )
        ]
    )
    with httpx.Client(base_url=router.url, headers={"Host": "lc.apps.test"}, timeout=10) as client:
        # Pin a slow request to "busy", then every other request goes to "free".
        slow = client.build_request("GET", "/slow?seconds=20", headers={"X-CF-APP-INSTANCE": f"{APP}:0"})
        import threading

        result: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: result.append(httpx.Client(timeout=30).send(slow)))
        worker.start()
        assert busy.slow_started.wait(10)
        names = [client.get("/echo").json()["name"] for _ in range(6)]
        busy.release.set()
        worker.join(10)
    assert names == ["free"] * 6
    assert result[0].json() == {"name": "busy", "slow": True}


def test_app_instance_header_pins_and_is_stripped(
    router: RunningRouter, app_backend: Callable[[str], AppBackend]
) -> None:
    backends = [app_backend(f"b{i}") for i in range(3)]
    router.set_routes([Route("pin.apps.test", "", {}, tuple(endpoint(b.port, i) for i, b in enumerate(backends)))])
    for _ in range(4):
        body = get(router, "pin.apps.test", **{"X-CF-APP-INSTANCE": f"{APP}:2"}).json()
        assert body["name"] == "b2"
        assert "x-cf-app-instance" not in {k for k, _ in body["headers"]}


def test_app_instance_header_errors(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backend = app_backend("b")
    router.set_routes([Route("pin.apps.test", "", {}, (endpoint(backend.port, 0),))])
    bad = get(router, "pin.apps.test", **{"X-CF-APP-INSTANCE": "not-a-guid:0"})
    assert bad.status_code == 400
    assert bad.text == "400 Bad Request: Invalid X-CF-App-Instance Header\n"
    assert bad.headers["x-cf-routererror"] == "invalid_cf_app_instance_header"
    missing = get(router, "pin.apps.test", **{"X-CF-APP-INSTANCE": f"{APP}:5"})
    assert missing.status_code == 400
    assert missing.text == (
        f"400 Bad Request: Requested instance ('5') with guid ('{APP}') does not exist for route ('pin.apps.test')\n"
    )
    assert missing.headers["x-cf-routererror"] == "unknown_route"


def test_sticky_sessions_follow_vcap_id(router: RunningRouter, app_backend: Callable[[str], AppBackend]) -> None:
    backends = [app_backend(f"b{i}") for i in range(3)]
    endpoints = tuple(endpoint(b.port, i, guid=f"guid-{i}") for i, b in enumerate(backends))
    router.set_routes([Route("sticky.apps.test", "", {}, endpoints)])
    with httpx.Client(base_url=router.url, headers={"Host": "sticky.apps.test"}) as client:
        first = client.get("/session")
        owner = first.json()["name"]
        index = int(owner[1:])
        assert f"__VCAP_ID__=guid-{index}; Path=/; HttpOnly; Secure; SameSite=Lax" in first.headers.get_list(
            "set-cookie"
        )
        client.cookies.clear()
        cookies = {"Cookie": f"JSESSIONID=s-{owner}; __VCAP_ID__=guid-{index}"}
        names = {client.get("/echo", headers=cookies).json()["name"] for _ in range(6)}
        assert names == {owner}
        # Without the session cookie, __VCAP_ID__ alone means nothing.
        alone = {"Cookie": f"__VCAP_ID__=guid-{index}"}
        names = {client.get("/echo", headers=alone).json()["name"] for _ in range(6)}
        assert len(names) == 3
        # The instance goes away: another answers and the cookie moves to it.
        router.set_routes([Route("sticky.apps.test", "", {}, tuple(e for e in endpoints if e.instance_index != index))])
        moved = client.get("/echo", headers=cookies)
        assert moved.json()["name"] != owner
        new_index = int(moved.json()["name"][1:])
        assert moved.headers["set-cookie"] == f"__VCAP_ID__=guid-{new_index}; Path=/; HttpOnly"


def test_a_router_answer_keeps_the_connection_or_says_it_closes(router: RunningRouter) -> None:
    """A 404 for a request without a body leaves the connection open for the next request; one
    whose body the router did not read says ``Connection: close`` before closing."""
    with httpx.Client(base_url=f"http://127.0.0.1:{router.port}") as client:
        for _ in range(3):
            response = client.get("/", headers={"Host": "nothing.apps.test"})
            assert response.status_code == 404
            assert response.headers.get("connection") != "close"
        response = client.post("/", headers={"Host": "nothing.apps.test"}, content=b"x" * 100_000)
        assert response.status_code == 404
        assert response.headers["connection"] == "close"
