"""Domains, routes and destinations, as ``cf routes``, ``cf map-route`` and push's routing use them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cf import World, unique
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP


def _default_domain(world: World) -> dict[str, Any]:
    r = world.admin.get("/v3/domains", params={"names": "apps.localhost"})
    assert r.status_code == 200, r.text
    (domain,) = r.json()["resources"]
    return dict(domain)


def _route(world: World, space: dict[str, Any], host: str, **fields: Any) -> dict[str, Any]:
    domain = _default_domain(world)
    body = {
        "host": host,
        "relationships": {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}},
        **fields,
    }
    r = world.admin.post("/v3/routes", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_default_shared_domain(world: World, org: dict[str, Any]) -> None:
    domain = _default_domain(world)
    url = world.server.url
    assert domain == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "name": "apps.localhost",
        "internal": False,
        "router_group": None,
        "supported_protocols": ["http"],
        "metadata": {"labels": {}, "annotations": {}},
        "relationships": {"organization": {"data": None}, "shared_organizations": {"data": []}},
        "links": {
            "self": {"href": f"{url}/v3/domains/{domain['guid']}"},
            "route_reservations": {"href": f"{url}/v3/domains/{domain['guid']}/route_reservations"},
        },
    }
    r = world.admin.get(f"/v3/organizations/{org['guid']}/domains/default")
    assert r.status_code == 200 and r.json()["guid"] == domain["guid"]
    r = world.admin.get(f"/v3/organizations/{org['guid']}/domains")
    assert [d["name"] for d in r.json()["resources"]] == ["apps.localhost"]
    assert world.admin.get("/v3/domains/not-a-guid").json()["errors"][0]["detail"] == "Domain not found"


def test_create_route_full_body(world: World, space: dict[str, Any]) -> None:
    domain = _default_domain(world)
    host = unique("web")
    route = _route(world, space, host)
    url = world.server.url
    g = route["guid"]
    assert route == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "protocol": "http",
        "host": host,
        "path": "",
        "port": None,
        "url": f"{host}.apps.localhost",
        "destinations": [],
        "options": {},
        "metadata": {"labels": {}, "annotations": {}},
        "relationships": {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}},
        "links": {
            "self": {"href": f"{url}/v3/routes/{g}"},
            "space": {"href": f"{url}/v3/spaces/{space['guid']}"},
            "destinations": {"href": f"{url}/v3/routes/{g}/destinations"},
            "domain": {"href": f"{url}/v3/domains/{domain['guid']}"},
        },
    }
    with_path = _route(world, space, host, path="/api/v1")
    assert with_path["url"] == f"{host}.apps.localhost/api/v1"


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"host": "a.b"}, 'Host must be either "*" or contain only alphanumeric characters, "_", or "-"'),
        ({"host": "x" * 64}, "Host is too long (maximum is 63 characters)"),
        ({"host": "ok", "path": "nope"}, "Path must begin with /"),
        ({"host": "ok", "path": "/"}, "Path cannot be exactly /"),
        ({"host": "ok", "path": "/a?b"}, "Path cannot contain ?"),
        ({"host": "ok", "bogus": 1}, "Unknown field(s): 'bogus'"),
        ({"host": ""}, "Missing host. Routes in shared domains must have a host defined."),
        ({"host": "ok", "port": 8080}, "Routes with protocol 'http' do not support ports."),
    ],
)
def test_create_route_errors(world: World, space: dict[str, Any], fields: dict[str, Any], detail: str) -> None:
    domain = _default_domain(world)
    rel = {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}}
    r = world.admin.post("/v3/routes", json={"relationships": rel, **fields})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"] == detail


def test_route_taken_even_in_another_space(world: World, org: dict[str, Any]) -> None:
    first, second = world.space(org), world.space(org)
    host = unique("taken")
    _route(world, first, host)
    domain = _default_domain(world)
    rel = {"space": {"data": {"guid": second["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}}
    r = world.admin.post("/v3/routes", json={"host": host.upper(), "relationships": rel})
    assert r.status_code == 422
    assert (
        r.json()["errors"][0]["detail"]
        == f"Route already exists with host '{host.upper()}' for domain 'apps.localhost'."
    )


def test_routes_of_other_spaces_are_invisible(world: World, org: dict[str, Any]) -> None:
    mine, theirs = world.space(org), world.space(org)
    developer = world.as_role("space_developer", org, mine)
    hidden = _route(world, theirs, unique("hidden"))
    assert developer.get(f"/v3/routes/{hidden['guid']}").status_code == 404
    listed = developer.get("/v3/routes", params={"space_guids": theirs["guid"]}).json()
    assert listed["resources"] == []
    auditor = world.as_role("org_auditor", org, mine)
    assert auditor.get(f"/v3/routes/{hidden['guid']}").status_code == 200
    r = developer.post(
        "/v3/routes",
        json={
            "host": "x",
            "relationships": {
                "space": {"data": {"guid": theirs["guid"]}},
                "domain": {"data": {"guid": _default_domain(world)["guid"]}},
            },
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Invalid space. Ensure that the space exists and you have access to it."


def test_destinations_map_and_unmap(world: World, space: dict[str, Any]) -> None:
    app = world.app(space)
    route = _route(world, space, unique("mapped"))
    r = world.admin.post(
        f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
    )
    assert r.status_code == 200, r.text
    (destination,) = r.json()["destinations"]
    assert destination == {
        "guid": ANY_GUID,
        "app": {"guid": app["guid"], "process": {"type": "web"}},
        "weight": None,
        "port": 8080,
        "protocol": "http1",
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
    }
    # Adding the same destination again keeps one.
    r = world.admin.post(
        f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
    )
    assert len(r.json()["destinations"]) == 1
    app_routes = world.admin.get(f"/v3/apps/{app['guid']}/routes").json()["resources"]
    assert [x["guid"] for x in app_routes] == [route["guid"]]
    by_app = world.admin.get("/v3/routes", params={"app_guids": app["guid"]}).json()["resources"]
    assert [x["guid"] for x in by_app] == [route["guid"]]
    r = world.admin.delete(f"/v3/routes/{route['guid']}/destinations/{destination['guid']}")
    assert r.status_code == 204
    assert world.admin.get(f"/v3/apps/{app['guid']}/routes").json()["resources"] == []


def test_destination_errors(world: World, org: dict[str, Any]) -> None:
    space, other = world.space(org), world.space(org)
    route = _route(world, space, unique("d"))
    path = f"/v3/routes/{route['guid']}/destinations"
    r = world.admin.post(path, json={"destinations": []})
    assert r.json()["errors"][0]["detail"] == (
        'Destinations must have the structure "destinations": [{"app": {"guid": "app_guid"}}]'
    )
    r = world.admin.post(path, json={"destinations": [{"app": {"guid": "missing"}}]})
    assert r.json()["errors"][0]["detail"] == 'App(s) with guid(s) "missing" do not exist.'
    foreign = world.app(other)
    r = world.admin.post(path, json={"destinations": [{"app": {"guid": foreign["guid"]}}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        "Routes destinations must be in either the route's space or the route's shared spaces"
    )


def test_replace_destinations(world: World, space: dict[str, Any]) -> None:
    one, two = world.app(space), world.app(space)
    route = _route(world, space, unique("r"))
    path = f"/v3/routes/{route['guid']}/destinations"
    world.admin.post(path, json={"destinations": [{"app": {"guid": one["guid"]}}]})
    r = world.admin.patch(path, json={"destinations": [{"app": {"guid": two["guid"]}, "port": 9000}]})
    assert r.status_code == 200
    assert [(d["app"]["guid"], d["port"]) for d in r.json()["destinations"]] == [(two["guid"], 9000)]
    r = world.admin.patch(path, json={"destinations": []})
    assert r.json()["destinations"] == []


def test_empty_filter_values_match_empty_strings(world: World, space: dict[str, Any]) -> None:
    host = unique("p")
    plain = _route(world, space, host)
    _route(world, space, host, path="/x")
    r = world.admin.get("/v3/routes", params={"hosts": host, "paths": ""})
    assert [x["guid"] for x in r.json()["resources"]] == [plain["guid"]]


def test_delete_route_and_unmapped_routes(world: World, space: dict[str, Any]) -> None:
    app = world.app(space)
    kept = _route(world, space, unique("kept"))
    world.admin.post(f"/v3/routes/{kept['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]})
    loose = _route(world, space, unique("loose"))
    gone = _route(world, space, unique("gone"))
    r = world.admin.delete(f"/v3/routes/{gone['guid']}")
    assert r.status_code == 202
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/routes/{gone['guid']}").status_code == 404
    r = world.admin.delete(f"/v3/spaces/{space['guid']}/routes")
    assert r.status_code == 422
    r = world.admin.delete(f"/v3/spaces/{space['guid']}/routes", params={"unmapped": "true"})
    assert r.status_code == 202
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/routes/{loose['guid']}").status_code == 404
    assert world.admin.get(f"/v3/routes/{kept['guid']}").status_code == 200


def test_include_domain_and_space(world: World, space: dict[str, Any]) -> None:
    route = _route(world, space, unique("inc"))
    r = world.admin.get("/v3/routes", params={"guids": route["guid"], "include": "domain,space,space.organization"})
    body = r.json()
    assert [d["name"] for d in body["included"]["domains"]] == ["apps.localhost"]
    assert [s["guid"] for s in body["included"]["spaces"]] == [space["guid"]]
    assert [o["guid"] for o in body["included"]["organizations"]] == [
        space["relationships"]["organization"]["data"]["guid"]
    ]


def test_deleting_an_app_unmaps_it(world: World, space: dict[str, Any]) -> None:
    app = world.app(space)
    route = _route(world, space, unique("del"))
    world.admin.post(
        f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]}
    )
    r = world.admin.delete(f"/v3/apps/{app['guid']}")
    assert world.admin.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/routes/{route['guid']}/destinations").json()["destinations"] == []
