"""Route services are not offered (as Cloud Controller with ``route_services_enabled: false``):
binding is refused with Cloud Controller's words, and the lists the clients read are empty."""

from __future__ import annotations

from typing import Any

import httpx

from tests.routes.test_routes_api import _route
from tests.services.test_service_instances import _ups
from tests.support.cf import World, unique


def test_cf8_routes_reads_an_empty_list_with_what_it_includes(world: World, space: dict[str, Any]) -> None:
    route = _route(world, space, unique("rs"))
    # What cf8 `cf routes` sends for the routes it shows.
    r = world.admin.get(
        "/v3/service_route_bindings",
        params={"include": "service_instance", "route_guids": route["guid"], "per_page": 5000},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resources"] == []
    assert body["included"] == {"service_instances": []}
    pagination = body["pagination"]
    assert (pagination["total_results"], pagination["total_pages"], pagination["next"]) == (0, 1, None)
    assert pagination["first"]["href"].startswith(f"{world.server.url}/v3/service_route_bindings?")
    both = world.admin.get("/v3/service_route_bindings", params={"include": "route,service_instance"}).json()
    assert both["included"] == {"routes": [], "service_instances": []}
    assert "included" not in world.admin.get("/v3/service_route_bindings").json()


def test_a_service_instance_links_to_a_list_that_answers(world: World, space: dict[str, Any]) -> None:
    instance = _ups(world.admin, space, route_service_url="https://rs.example")
    href = instance["links"]["service_route_bindings"]["href"]
    r = world.admin.get(href.removeprefix(world.server.url))
    assert (r.status_code, r.json()["resources"]) == (200, [])


def test_binding_is_refused_as_cloud_controller_refuses_it_without_route_services(
    world: World, space: dict[str, Any]
) -> None:
    instance = _ups(world.admin, space, route_service_url="https://rs.example")
    route = _route(world, space, unique("rs"))
    body = {
        "relationships": {
            "service_instance": {"data": {"guid": instance["guid"]}},
            "route": {"data": {"guid": route["guid"]}},
        }
    }
    r = world.admin.post("/v3/service_route_bindings", json=body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error == {
        "detail": "Support for route services is disabled",
        "title": "CF-UnprocessableEntity",
        "code": 10008,
    }
    # Nothing was made.
    listed = world.admin.get("/v3/service_route_bindings", params={"route_guids": route["guid"]}).json()
    assert listed["pagination"]["total_results"] == 0


def test_one_binding_is_never_found(world: World) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        r = world.admin.request(method, "/v3/service_route_bindings/no-such-guid")
        assert r.status_code == 404, (method, r.text)
        assert r.json()["errors"][0]["detail"] == "Service route binding not found"
    r = world.admin.get("/v3/service_route_bindings/no-such-guid/parameters")
    assert r.status_code == 404


def test_list_parameters_are_checked_and_a_token_is_needed(world: World) -> None:
    r = world.admin.get("/v3/service_route_bindings", params={"app_guids": "x"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["title"] == "CF-BadQueryParameter"
    assert "'app_guids'" in r.json()["errors"][0]["detail"]
    r = world.admin.get("/v3/service_route_bindings", params={"include": "app"})
    assert r.status_code == 400
    assert "Valid included resources are: 'route', 'service_instance'" in r.json()["errors"][0]["detail"]
    assert httpx.get(f"{world.server.url}/v3/service_route_bindings").status_code == 401
