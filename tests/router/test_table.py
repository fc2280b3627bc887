"""Table lookup as gorouter's registry does it (pure: no sockets)."""

from __future__ import annotations

from ladle.router import Endpoint, Route, Snapshot
from ladle.router.table import RouteTable, compile_table
from ladle.router.upstream import EndpointState


def table(*routes: Route) -> RouteTable:
    return compile_table(Snapshot(1, routes), EndpointState)


def ep(port: int, index: int = 0, app: str = "app") -> Endpoint:
    return Endpoint("127.0.0.1", port, app, instance_index=index, instance_guid=f"g{port}")


def found(t: RouteTable, host: str, path: bytes = b"/") -> int | None:
    pool = t.lookup(host, path)
    return pool.endpoints[0].endpoint.port if pool is not None else None


def test_hosts_paths_and_wildcards() -> None:
    t = table(
        Route("Shop.Example.com.", "", {}, (ep(1),)),
        Route("shop.example.com", "/API/", {}, (ep(2),)),
        Route("shop.example.com", "/api/v1", {}, (ep(3),)),
        Route("*.example.com", "", {}, (ep(4),)),
        Route("*.example.com", "/api", {}, (ep(5),)),
        Route("*.b.example.com", "", {}, (ep(6),)),
    )
    assert found(t, "shop.example.com") == 1
    assert found(t, "shop.example.com", b"/api") == 2
    assert found(t, "shop.example.com", b"/Api/V1/x") == 3
    assert found(t, "shop.example.com", b"/api/v10") == 2
    assert found(t, "other.example.com", b"/api/x") == 5
    assert found(t, "x.b.example.com") == 6
    assert found(t, "x.y.example.com") == 4
    assert found(t, "example.com") is None
    assert found(t, "shop.example.org") is None


def test_same_route_twice_merges_endpoints_and_drops_empty_routes() -> None:
    t = table(
        Route("a.test", "", {}, (ep(1), ep(2))),
        Route("A.test", "", {}, (ep(2), ep(3))),
        Route("b.test", "", {}, ()),
    )
    pool = t.lookup("a.test", b"/")
    assert pool is not None and [s.endpoint.port for s in pool.endpoints] == [1, 2, 3]
    assert t.lookup("b.test", b"/") is None
    assert len(t.states) == 3


def test_round_robin_skips_tried_and_recently_failed() -> None:
    t = table(Route("a.test", "", {}, (ep(1), ep(2), ep(3))))
    pool = t.lookup("a.test", b"/")
    assert pool is not None
    order = [pool.pick() for _ in range(6)]
    ports = [s.endpoint.port for s in order if s is not None]
    assert ports[:3] == ports[3:]
    assert sorted(ports[:3]) == [1, 2, 3]
    a, b, c = pool.endpoints
    b.failed_until = float("inf")
    picks = {pool.pick(tried=(a,)) for _ in range(4)}
    assert picks == {c}
    assert pool.pick(tried=(a, c)) is b  # failed, but the only one left
    assert pool.pick(tried=(a, b, c)) is None


def test_least_connection_and_instances() -> None:
    t = table(Route("a.test", "", {"loadbalancing": "least-connection"}, (ep(1, 0), ep(2, 1), ep(3, 2, app="other"))))
    pool = t.lookup("a.test", b"/")
    assert pool is not None
    a, b, c = pool.endpoints
    a.in_flight, b.in_flight, c.in_flight = 3, 1, 2
    assert pool.pick() is b
    b.in_flight = 5
    assert pool.pick() is c
    assert pool.instance("app", 1) is b
    assert pool.instance("other", 2) is c
    assert pool.instance("app", 2) is None
