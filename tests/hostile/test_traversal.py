"""Path traversal, NUL bytes and other junk in every path parameter of every endpoint: never a
5xx, and every error in the CF envelope. (Asked as an admin, who gets furthest into each route.)"""

from __future__ import annotations

import httpx

from tests.hostile.endpoints import Endpoint, Victim
from tests.support.cf import World
from tests.support.matchers import is_cf_error

PAYLOADS = (
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e",
    "..%5C..%5Cwindows",
    "%00",
    "abc%00.zip",
    "%ff%fe%C0%AE",
    "%0d%0aSet-Cookie:%20x=1",
    "x" * 4000,
)
# Parameters Cloud Controller reads leniently: a feature flag's name (an unknown one is 404 anyway)
# and an instance index, read with Ruby's ``to_i`` (junk is index 0).
LENIENT = {"name", "index"}


def test_junk_in_every_path_parameter(world: World, all_endpoints: list[Endpoint], victim: Victim) -> None:
    wrong = []
    with httpx.Client(base_url=world.server.url, headers={"Authorization": f"bearer {world.admin.token}"}) as client:
        for endpoint in all_endpoints:
            for param in endpoint.params:
                for payload in PAYLOADS:
                    url = victim.fill(endpoint, **{param: payload})
                    r = client.request(endpoint.method, url, json={} if endpoint.method != "GET" else None, timeout=30)
                    if r.status_code >= 500 or (r.status_code >= 400 and not endpoint.uaa and not _cf(r)):
                        wrong.append(f"{endpoint} {param}={payload[:40]}: {r.status_code} {r.text[:200]}")
                    elif r.status_code < 400 and not endpoint.uaa and param not in LENIENT:
                        wrong.append(f"{endpoint} {param}={payload[:40]}: accepted with {r.status_code}")
    assert wrong == [], "\n".join(wrong)
    for collection in ("organizations", "spaces", "apps", "routes", "buildpacks"):
        assert world.admin.get(f"/v3/{collection}/{victim.guids[collection]}").status_code == 200


def _cf(response: httpx.Response) -> bool:
    try:
        return is_cf_error(response.json())
    except ValueError:
        return False


def test_nul_in_queries_and_bodies(world: World) -> None:
    # PostgreSQL cannot hold or even compare text with a NUL: such input is refused before it gets there.
    r = world.admin.get("/v3/apps?names=a%00b")
    assert r.status_code == 400
    assert r.json() == {
        "errors": [
            {
                "detail": "The query parameter is invalid: a parameter holds a NUL character",
                "title": "CF-BadQueryParameter",
                "code": 10005,
            }
        ]
    }
    r = world.admin.post("/v3/organizations", json={"name": "a\u0000b"})
    assert r.status_code == 400
    assert r.json() == {
        "errors": [
            {
                "detail": "Request invalid due to parse error: invalid request body",
                "title": "CF-MessageParseError",
                "code": 1001,
            }
        ]
    }
    # A backslash followed by "u0000" is just text.
    r = world.admin.post("/v3/organizations", json={"name": "a\\u0000b"})
    assert r.status_code == 201, r.text
