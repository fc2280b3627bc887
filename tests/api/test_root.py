"""The documents served without a token, and unknown routes."""

from __future__ import annotations

import re
from importlib import metadata

import httpx

from ladle.api.root import V3_COLLECTIONS
from tests.support.cf import World


def test_global_root(world: World) -> None:
    base = world.server.url
    r = httpx.get(f"{base}/")
    assert r.status_code == 200
    links = r.json()["links"]
    assert links["self"] == {"href": base}
    assert links["cloud_controller_v3"]["href"] == f"{base}/v3"
    version = links["cloud_controller_v3"]["meta"]["version"]
    major, minor, _patch = map(int, re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version).groups())  # type: ignore[union-attr]
    assert major == 3 and 99 <= minor < 211
    assert links["login"] == {"href": base} and links["uaa"] == {"href": base}
    # Build logs are served by our log-cache-compatible endpoint on this same address.
    assert links["log_cache"] == {"href": base}
    for name in ("credhub", "routing", "logging", "log_stream", "app_ssh"):
        assert links[name] is None
    assert "cloud_controller_v2" not in links


def test_v3_root_lists_the_collections_served(world: World) -> None:
    base = world.server.url
    body = httpx.get(f"{base}/v3").json()
    served = [
        "app_usage_events",
        "apps",
        "audit_events",
        "buildpacks",
        "builds",
        "deployments",
        "domains",
        "droplets",
        "feature_flags",
        "info",
        "isolation_segments",
        "organizations",
        "organization_quotas",
        "packages",
        "processes",
        "resource_matches",
        "roles",
        "routes",
        "security_groups",
        "service_brokers",
        "service_instances",
        "service_credential_bindings",
        "service_offerings",
        "service_plans",
        "service_route_bindings",
        "spaces",
        "space_quotas",
        "stacks",
        "tasks",
        "users",
    ]
    assert list(body["links"]) == ["self", *served]  # in Cloud Controller's order
    assert set(served) <= set(V3_COLLECTIONS)
    assert body["links"]["self"] == {"href": f"{base}/v3"}
    assert body["links"]["apps"] == {"href": f"{base}/v3/apps"}
    for name in served:
        if name == "resource_matches":  # answers POST only, as in Cloud Controller
            r = world.admin.post("/v3/resource_matches", json={"resources": []})
            assert r.json()["errors"][0]["title"] == "CF-UnprocessableEntity"  # routed and validated
        else:
            assert world.admin.get(f"/v3/{name}").status_code == 200, name


def test_info_and_healthz(world: World) -> None:
    base = world.server.url
    info = httpx.get(f"{base}/v3/info").json()
    version = metadata.version("ladle")
    assert info == {
        "build": f"ladle-{version}",
        "cli_version": {"minimum": "", "recommended": ""},
        "custom": {},
        "description": "A Cloud Foundry v3-compatible application platform API",
        "name": "Ladle",
        "version": version,
        "osbapi_version": "2.15",
        "rate_limits": {"enabled": False, "general_limit": None, "reset_interval_in_minutes": None},
        "links": {"self": {"href": f"{base}/v3/info"}, "support": {"href": ""}},
    }
    health = httpx.get(f"{base}/healthz")
    assert (health.status_code, health.text) == (200, "OK")


def test_unknown_routes_are_cf_not_found(world: World) -> None:
    for method, path in (("GET", "/v3/nope"), ("POST", "/v3/info"), ("GET", "/v2/organizations"), ("PUT", "/v3/apps")):
        r = world.admin.request(method, path)
        assert r.status_code == 404, path
        assert r.json() == {"errors": [{"detail": "Unknown request", "title": "CF-NotFound", "code": 10000}]}


def test_request_id_header(world: World) -> None:
    r = httpx.get(f"{world.server.url}/v3/info", headers={"X-VCAP-Request-ID": "abc!@#def"})
    assert re.fullmatch(r"abcdef::[0-9a-f-]{36}", r.headers["x-vcap-request-id"])
    plain = httpx.get(f"{world.server.url}/v3/info")
    assert re.fullmatch(r"[0-9a-f-]{36}", plain.headers["x-vcap-request-id"])
