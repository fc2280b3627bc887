"""Pagination, ordering and filters, shown on apps (the machinery is shared by every list)."""

from __future__ import annotations

from typing import Any

from tests.support.cf import World


def names(response: Any) -> list[str]:
    return [r["name"] for r in response.json()["resources"]]


def test_pagination_envelope(world: World) -> None:
    space = world.space()
    for name in ("c", "a", "b"):
        world.app(space, name=name)
    base = world.server.url
    r = world.admin.get("/v3/apps", params={"space_guids": space["guid"], "per_page": 2})
    assert r.status_code == 200
    p = r.json()["pagination"]
    q = f"page=%d&per_page=2&space_guids={space['guid']}"
    assert p == {
        "total_results": 3,
        "total_pages": 2,
        "first": {"href": f"{base}/v3/apps?{q % 1}"},
        "last": {"href": f"{base}/v3/apps?{q % 2}"},
        "next": {"href": f"{base}/v3/apps?{q % 2}"},
        "previous": None,
    }
    assert names(r) == ["c", "a"]
    second = world.admin.get(p["next"]["href"])
    assert names(second) == ["b"]
    assert second.json()["pagination"]["next"] is None
    assert second.json()["pagination"]["previous"] == {"href": f"{base}/v3/apps?{q % 1}"}
    beyond = world.admin.get("/v3/apps", params={"space_guids": space["guid"], "per_page": 2, "page": 5})
    assert beyond.json()["resources"] == []
    assert beyond.json()["pagination"]["previous"]["href"].endswith(q % 4)

    empty = world.admin.get("/v3/apps", params={"names": "nope-nothing"}).json()
    assert empty["pagination"]["total_pages"] == 1 and empty["resources"] == []


def test_order_by(world: World) -> None:
    space = world.space()
    for name in ("b", "c", "a"):
        world.app(space, name=name)
    params = {"space_guids": space["guid"]}
    assert names(world.admin.get("/v3/apps", params={**params, "order_by": "name"})) == ["a", "b", "c"]
    descending = world.admin.get("/v3/apps", params={**params, "order_by": "-name"})
    assert names(descending) == ["c", "b", "a"]
    assert "order_by=-name" in descending.json()["pagination"]["first"]["href"]
    plain = world.admin.get("/v3/apps", params={**params, "order_by": "name"})
    assert "order_by=%2Bname" in plain.json()["pagination"]["first"]["href"]
    bad = world.admin.get("/v3/apps", params={"order_by": "size"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["detail"] == (
        "The query parameter is invalid: Order by can only be: 'created_at', 'updated_at', 'name', 'state'"
    )


def test_filters(world: World) -> None:
    org = world.org()
    s1, s2 = world.space(org), world.space(org)
    a1 = world.app(s1, name="one")
    a2 = world.app(s2, name="two")
    world.app(world.space(), name="one")  # another org
    get = world.admin.get
    assert names(get("/v3/apps", params={"organization_guids": org["guid"]})) == ["one", "two"]
    assert names(get("/v3/apps", params={"guids": f"{a1['guid']},{a2['guid']}"})) == ["one", "two"]
    assert names(get("/v3/apps", params={"organization_guids": org["guid"], "names": "two"})) == ["two"]
    assert names(get("/v3/apps", params={"space_guids": s1["guid"], "stacks": "cflinuxfs4"})) == ["one"]
    assert names(get("/v3/apps", params={"space_guids": s1["guid"], "lifecycle_type": "docker"})) == []
    bad = get("/v3/apps", params={"lifecycle_type": "rkt"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["detail"] == "The query parameter is invalid: Invalid lifecycle_type: 'rkt'"


def test_timestamp_filters(world: World) -> None:
    space = world.space()
    app = world.app(space)
    created = app["created_at"]
    get = world.admin.get
    base = {"space_guids": space["guid"]}
    assert len(get("/v3/apps", params={**base, "created_ats": created}).json()["resources"]) == 1
    assert len(get("/v3/apps", params={**base, "created_ats[lte]": created}).json()["resources"]) == 1
    assert len(get("/v3/apps", params={**base, "created_ats[lt]": created}).json()["resources"]) == 0
    assert len(get("/v3/apps", params={**base, "created_ats[gte]": created}).json()["resources"]) == 1
    assert len(get("/v3/apps", params={**base, "created_ats[gt]": created}).json()["resources"]) == 0
    assert len(get("/v3/apps", params={**base, "updated_ats": "1999-01-01T00:00:00Z"}).json()["resources"]) == 0
    link = get("/v3/apps", params={**base, "created_ats[lte]": created}).json()["pagination"]["first"]["href"]
    assert "created_ats%5Blte%5D=" in link


def test_label_selectors(world: World) -> None:
    space = world.space()
    world.app(space, name="prod-web", metadata={"labels": {"env": "prod", "example.com/tier": "web"}})
    world.app(space, name="dev-web", metadata={"labels": {"env": "dev", "example.com/tier": "web"}})
    world.app(space, name="bare")

    def select(selector: str) -> list[str]:
        r = world.admin.get("/v3/apps", params={"space_guids": space["guid"], "label_selector": selector})
        assert r.status_code == 200, r.text
        return sorted(names(r))

    assert select("env=prod") == ["prod-web"]
    assert select("env==prod") == ["prod-web"]
    assert select("env!=prod") == ["bare", "dev-web"]
    assert select("env in (prod,dev)") == ["dev-web", "prod-web"]
    assert select("env notin (prod)") == ["bare", "dev-web"]
    assert select("env") == ["dev-web", "prod-web"]
    assert select("!env") == ["bare"]
    assert select("example.com/tier=web,env=dev") == ["dev-web"]
    assert select("env=") == []
    bad = world.admin.get("/v3/apps", params={"label_selector": "buncha nonsense"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0] == {
        "detail": "The query parameter is invalid: Invalid label_selector value",
        "title": "CF-BadQueryParameter",
        "code": 10005,
    }


def test_include_space_and_org(world: World) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    body = world.admin.get("/v3/apps", params={"guids": app["guid"], "include": "space.organization"}).json()
    assert list(body) == ["pagination", "resources", "included"]
    assert [s["guid"] for s in body["included"]["spaces"]] == [space["guid"]]
    assert [o["guid"] for o in body["included"]["organizations"]] == [org["guid"]]
    assert "include=space.organization" in body["pagination"]["first"]["href"]
    single = world.admin.get(f"/v3/apps/{app['guid']}", params={"include": "org"}).json()
    assert list(single["included"]) == ["organizations"]
    bad = world.admin.get(f"/v3/apps/{app['guid']}", params={"include": "spaceship"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["detail"] == (
        "The query parameter is invalid: Invalid included resource: 'spaceship'. "
        "Valid included resources are: 'space', 'org', 'space.organization'"
    )


def test_metadata_limits_and_merge(world: World) -> None:
    app = world.app(metadata={"labels": {"keep": "1"}})
    too_many = {f"k{i}": "v" for i in range(50)}
    r = world.admin.patch(f"/v3/apps/{app['guid']}", json={"metadata": {"labels": too_many}})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "detail": "Failed to add 50 labels because it would exceed maximum of 50",
        "title": "CF-LabelLimitExceeded",
        "code": 390020,
    }
    # Nothing of the refused request was kept.
    assert world.admin.get(f"/v3/apps/{app['guid']}").json()["metadata"]["labels"] == {"keep": "1"}
    r = world.admin.patch(
        f"/v3/apps/{app['guid']}", json={"metadata": {"labels": {"cloudfoundry.org/x": "y", "ok": "a b"}}}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == (
        "Metadata label key error: prefix 'cloudfoundry.org' is reserved, "
        "Metadata label value error: 'a b' contains invalid characters"
    )
