"""What ``cf org``, ``cf space`` (but its services) and ``cf domains`` send, answered with the
JSON types the cf CLI v7 decodes (actor/v7action/organization_summary.go, space.go)."""

from __future__ import annotations

from typing import Any

from tests.support.cf import Api, World

SHARED_SEGMENT = "933b4c58-120b-499a-b85d-4b6fc9e2903b"


def _ok(api: Api, path: str, **params: str) -> dict[str, Any]:
    r = api.get(path, params=params)
    assert r.status_code == 200, (path, r.text)
    return dict(r.json())


def test_cf_org_as_an_org_member(world: World) -> None:
    org = world.org()
    space = world.space(org)
    api = world.as_role("org_manager", org, space)
    found = _ok(api, "/v3/organizations", names=org["name"])["resources"]
    assert [o["guid"] for o in found] == [org["guid"]]
    g = org["guid"]
    domains = _ok(api, f"/v3/organizations/{g}/domains")["resources"]
    assert domains and all(isinstance(d["name"], str) for d in domains)
    assert domains[0]["relationships"]["organization"]["data"] is None  # shared
    quota_guid = found[0]["relationships"]["quota"]["data"]["guid"]
    quota = _ok(api, f"/v3/organization_quotas/{quota_guid}")
    assert quota["name"] == "default"
    assert isinstance(quota["apps"]["total_memory_in_mb"], int)
    spaces = _ok(api, "/v3/spaces", organization_guids=g)["resources"]
    assert [s["name"] for s in spaces] == [space["name"]]
    default_segment = _ok(api, f"/v3/organizations/{g}/relationships/default_isolation_segment")
    assert default_segment["data"] is None
    assert default_segment["links"]["self"]["href"].endswith(
        f"/v3/organizations/{g}/relationships/default_isolation_segment"
    )
    segments = _ok(api, "/v3/isolation_segments", organization_guids=g)
    assert segments["resources"] == [] and segments["pagination"]["total_results"] == 0


def test_cf_space_as_a_space_developer(world: World) -> None:
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    api = world.as_role("space_developer", org, space)
    assert _ok(api, f"/v3/organizations/{org['guid']}")["name"] == org["name"]
    found = _ok(api, "/v3/spaces", names=space["name"], organization_guids=org["guid"])["resources"]
    assert [s["guid"] for s in found] == [space["guid"]]
    assert found[0]["relationships"]["quota"]["data"] is None  # no space quota: not fetched
    assert [a["name"] for a in _ok(api, "/v3/apps", space_guids=space["guid"])["resources"]] == [app["name"]]
    segment = _ok(api, f"/v3/spaces/{space['guid']}/relationships/isolation_segment")
    assert segment["data"] is None
    assert _ok(api, f"/v3/organizations/{org['guid']}/relationships/default_isolation_segment")["data"] is None
    for lifecycle in ("running", "staging"):
        groups = _ok(api, f"/v3/spaces/{space['guid']}/{lifecycle}_security_groups")["resources"]
        names = [grp["name"] for grp in groups]
        assert names == ["public_networks", "dns"]
        public = groups[0]
        assert public["globally_enabled"] == {"running": True, "staging": True}
        # The sandbox's denied private ranges are the gaps between the public ones.
        destinations = [rule["destination"] for rule in public["rules"]]
        assert destinations[0] == "0.0.0.0-9.255.255.255"
        assert "11.0.0.0-169.253.255.255" in destinations
        assert all(rule["protocol"] == "all" for rule in public["rules"])
        assert {(r["protocol"], r["ports"]) for r in groups[1]["rules"]} == {("tcp", "53"), ("udp", "53")}
    # Another org's developer reads none of it.
    other = world.org()
    stranger = world.as_role("space_developer", other, world.space(other))
    r = stranger.get(f"/v3/spaces/{space['guid']}/running_security_groups")
    assert r.status_code == 404
    assert stranger.get(f"/v3/spaces/{space['guid']}/relationships/isolation_segment").status_code == 404


def test_security_groups_and_shared_segment_as_admin(world: World) -> None:
    groups = _ok(world.admin, "/v3/security_groups")
    assert [g["name"] for g in groups["resources"]] == ["public_networks", "dns"]
    one = groups["resources"][1]
    assert _ok(world.admin, f"/v3/security_groups/{one['guid']}") == one
    assert _ok(world.admin, "/v3/security_groups", names="dns")["pagination"]["total_results"] == 1
    assert _ok(world.admin, "/v3/security_groups", globally_enabled_running="false")["resources"] == []
    assert world.admin.get("/v3/security_groups/nope").status_code == 404
    segments = _ok(world.admin, "/v3/isolation_segments")["resources"]
    assert [(s["guid"], s["name"]) for s in segments] == [(SHARED_SEGMENT, "shared")]
    assert _ok(world.admin, f"/v3/isolation_segments/{SHARED_SEGMENT}")["name"] == "shared"


def test_cf_domains(world: World) -> None:
    org = world.org()
    space = world.space(org)
    r = world.admin.post(
        "/v3/domains",
        json={"name": f"{org['name']}.example.org", "relationships": {"organization": {"data": {"guid": org["guid"]}}}},
    )
    assert r.status_code == 201, r.text
    api = world.as_role("space_auditor", org, space)
    domains = _ok(api, f"/v3/organizations/{org['guid']}/domains")["resources"]
    kinds = {d["name"]: d["relationships"]["organization"]["data"] for d in domains}
    assert kinds[f"{org['name']}.example.org"] == {"guid": org["guid"]}  # private
    assert None in kinds.values()  # the shared apps domain
    for d in domains:
        assert isinstance(d["internal"], bool) and d["supported_protocols"] == ["http"]
