"""Every endpoint that needs a token refuses a missing, expired, foreign, unsigned or orphaned one
with 401 in the CF envelope, before it does anything."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete

from ladle.auth.keys import load_or_create_signing_key
from ladle.db.models import User
from ladle.db.revocation import RECHECK_SECONDS
from tests.hostile.endpoints import Endpoint, Victim
from tests.support.cf import World
from tests.support.matchers import is_cf_error

INVALID = {"detail": "Invalid Auth Token", "title": "CF-InvalidAuthToken", "code": 1000}
MISSING = {"detail": "Authentication error", "title": "CF-NotAuthenticated", "code": 10002}


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def expired(world: World) -> str:
    key = load_or_create_signing_key(world.server.settings.data_dir)
    claims = _claims(str(world.admin.token))
    now = int(time.time())
    claims.update(iat=now - 7200, exp=now - 60)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def signed_by_another_key(world: World) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = load_or_create_signing_key(world.server.settings.data_dir).kid  # claims to be ours
    return jwt.encode(_claims(str(world.admin.token)), other, algorithm="RS256", headers={"kid": kid})


def unsigned(world: World) -> str:
    """``alg: none``: an admin's claims with no signature at all."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(str(world.admin.token)))}."


def of_a_deleted_user(world: World) -> str:
    guid, name = world.new_user(admin=True)
    api = world.login_as(name)
    assert api.get("/v3/organizations").status_code == 200  # seen, and cached as seen
    with world.server.deps.db.session() as session:
        session.execute(delete(User).where(User.guid == guid))
        session.commit()
    # A token found acceptable is not asked about again for this long (db/revocation.py).
    time.sleep(RECHECK_SECONDS + 0.2)
    return str(api.token)


TOKENS: dict[str, Callable[[World], str]] = {
    "expired": expired,
    "signed by another key": signed_by_another_key,
    "alg none": unsigned,
    "of a deleted user": of_a_deleted_user,
}


def _refusals(
    world: World, endpoints: list[Endpoint], victim: Victim, headers: dict[str, str], expected: dict[str, Any]
) -> list[str]:
    wrong = []
    with httpx.Client(base_url=world.server.url, headers=headers, timeout=30) as client:
        for endpoint in endpoints:
            if endpoint.access == "public":
                continue
            r = client.request(endpoint.method, victim.fill(endpoint), json={} if endpoint.method != "GET" else None)
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
            if endpoint.template.startswith("/v2/"):
                # The v2 endpoints the v7 CLI calls answer in v2's error shape, as Cloud Controller's do.
                v2 = {"code": expected["code"], "description": expected["detail"], "error_code": expected["title"]}
                if r.status_code != 401 or body != v2:
                    wrong.append(f"{endpoint}: {r.status_code} {r.text[:200]}")
            elif r.status_code != 401 or body != {"errors": [expected]} or not is_cf_error(body):
                wrong.append(f"{endpoint}: {r.status_code} {r.text[:200]}")
    return wrong


def test_every_endpoint_without_a_token(world: World, all_endpoints: list[Endpoint], victim: Victim) -> None:
    assert _refusals(world, all_endpoints, victim, {}, MISSING) == []


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_every_endpoint_with_a_bad_token(
    world: World, all_endpoints: list[Endpoint], victim: Victim, kind: str
) -> None:
    token = TOKENS[kind](world)
    assert _refusals(world, all_endpoints, victim, {"Authorization": f"bearer {token}"}, INVALID) == []
    # The victim's resources are all still there (a refused delete deleted nothing).
    for collection in ("organizations", "spaces", "apps", "routes"):
        assert world.admin.get(f"/v3/{collection}/{victim.guids[collection]}").status_code == 200
