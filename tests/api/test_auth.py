"""The token server and how the API treats tokens."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt

from tests.support.cf import World, login
from tests.support.server import ADMIN_PASSWORD

INVALID_TOKEN = {"errors": [{"detail": "Invalid Auth Token", "title": "CF-InvalidAuthToken", "code": 1000}]}
NOT_AUTHENTICATED = {"errors": [{"detail": "Authentication error", "title": "CF-NotAuthenticated", "code": 10002}]}


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_login_document_has_prompts_and_links(world: World) -> None:
    r = httpx.get(f"{world.server.url}/login", headers={"Accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["prompts"] == {"username": ["text", "Email"], "password": ["password", "Password"]}
    assert body["links"]["uaa"] == world.server.url
    assert body["links"]["login"] == world.server.url


def test_password_grant_issues_a_verifiable_jwt(world: World) -> None:
    tokens = login(world.server.url, "admin", ADMIN_PASSWORD)
    assert tokens["token_type"] == "bearer"
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in", "scope", "jti"}
    keys = httpx.get(f"{world.server.url}/token_keys").json()["keys"]
    assert keys[0]["alg"] == "RS256" and keys[0]["kty"] == "RSA"
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256" and header["kid"] == keys[0]["kid"]
    key = jwt.PyJWK(keys[0])
    decoded = jwt.decode(tokens["access_token"], key, algorithms=["RS256"], audience="cloud_controller")
    for claim in ("user_id", "user_name", "origin", "email", "scope", "exp", "jti", "client_id", "revocable"):
        assert claim in decoded, claim
    assert decoded["user_name"] == "admin"
    assert decoded["origin"] == "uaa"
    assert decoded["client_id"] == "cf"
    assert "cloud_controller.admin" in decoded["scope"]
    assert decoded["iss"] == f"{world.server.url}/oauth/token"
    assert {"cloud_controller", "cf", "routing.router_groups", "openid"} <= set(decoded["aud"])
    assert len(decoded["jti"]) == 32


def test_bad_credentials(world: World) -> None:
    r = httpx.post(
        f"{world.server.url}/oauth/token",
        data={"grant_type": "password", "username": "admin", "password": "wrong"},
        auth=("cf", ""),
    )
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "error_description": "Bad credentials"}
    r = httpx.post(
        f"{world.server.url}/oauth/token",
        data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
        auth=("cf", "not-the-secret"),
    )
    assert r.status_code == 401
    r = httpx.post(f"{world.server.url}/oauth/token", data={"grant_type": "magic"}, auth=("cf", ""))
    assert r.status_code == 400
    assert r.json() == {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
    r = httpx.post(f"{world.server.url}/oauth/token", data={}, auth=("cf", ""))
    assert r.json() == {"error": "invalid_request", "error_description": "Missing grant type"}
    r = httpx.post(f"{world.server.url}/oauth/token", data={"grant_type": "refresh_token"}, auth=("cf", ""))
    assert r.status_code == 400
    assert r.json()["error_description"] == "refresh_token parameter not provided"


def test_refresh_grant(world: World) -> None:
    tokens = login(world.server.url, "admin", ADMIN_PASSWORD)
    r = httpx.post(
        f"{world.server.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": ""},
        auth=("cf", ""),
    )
    assert r.status_code == 200, r.text
    refreshed = r.json()
    assert refreshed["token_type"] == "bearer"
    assert claims(refreshed["access_token"])["user_id"] == claims(tokens["access_token"])["user_id"]
    assert world.api(refreshed["access_token"]).get("/v3/apps").status_code == 200
    r = httpx.post(
        f"{world.server.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["access_token"]},
        auth=("cf", ""),
    )
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_token", "error_description": "Invalid refresh token."}
    # The refreshed token keeps the original grant type, as UAA's do.
    assert claims(refreshed["access_token"])["grant_type"] == "password"


def test_client_credentials_grant_form_and_basic(world: World) -> None:
    for kwargs in (
        {"data": {"grant_type": "client_credentials", "client_id": "cf", "client_secret": ""}},
        {"data": {"grant_type": "client_credentials"}, "auth": ("cf", "")},
    ):
        r = httpx.post(f"{world.server.url}/oauth/token", **kwargs)
        assert r.status_code == 200, r.text
        c = claims(r.json()["access_token"])
        assert c["client_id"] == "cf" and "user_id" not in c
        assert c["scope"] == ["uaa.none"]
        assert "refresh_token" not in r.json()


def test_missing_garbage_expired_and_revoked_tokens(world: World) -> None:
    anonymous = httpx.get(f"{world.server.url}/v3/apps")
    assert (anonymous.status_code, anonymous.json()) == (401, NOT_AUTHENTICATED)
    garbage = world.api("garbage").get("/v3/apps")
    assert (garbage.status_code, garbage.json()) == (401, INVALID_TOKEN)
    basic = httpx.get(f"{world.server.url}/v3/apps", headers={"Authorization": "Basic Y2Y6"})
    assert (basic.status_code, basic.json()) == (401, INVALID_TOKEN)

    issuer = world.server.deps.issuer
    assert issuer is not None
    good = login(world.server.url, "admin", ADMIN_PASSWORD)["access_token"]
    expired_claims = {**claims(good), "exp": int(time.time()) - 10, "iat": int(time.time()) - 100}
    expired = jwt.encode(expired_claims, issuer.key.private_key, algorithm="RS256", headers={"kid": issuer.key.kid})
    r = world.api(expired).get("/v3/apps")
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)

    # Capitalised "Bearer" works as well as the CLI's "bearer".
    ok = httpx.get(f"{world.server.url}/v3/apps", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200
    assert ok.headers["x-user-guid"] == claims(good)["user_id"]

    jti = claims(good)["jti"]
    _, name = world.new_user()
    stranger = world.login_as(name)
    r = stranger.delete(f"/oauth/token/revoke/{jti}")
    assert (r.status_code, r.json()["error"]) == (403, "access_denied")
    r = world.api(good).delete(f"/oauth/token/revoke/{jti}")
    assert (r.status_code, r.content) == (200, b"")
    r = world.api(good).get("/v3/apps")
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def test_token_signed_by_another_key_is_rejected(world: World) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = login(world.server.url, "admin", ADMIN_PASSWORD)["access_token"]
    forged = jwt.encode(claims(good), other, algorithm="RS256")
    r = world.api(forged).get("/v3/apps")
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def test_scope_gate(world: World) -> None:
    _, name = world.new_user()
    reader = world.login_as(name, scope="cloud_controller.read")
    assert reader.get("/v3/organizations").status_code == 200
    r = reader.post("/v3/organizations", json={"name": "x"})
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == 10003
    # Without any cloud_controller scope the token is not meant for this API at all (its
    # audience lacks cloud_controller), which Cloud Controller treats as an invalid token.
    none = world.login_as(name, scope="openid")
    r = none.get("/v3/apps")
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def test_scim_user_creation_and_first_sight(world: World) -> None:
    r = world.admin.post(
        "/Users", json={"userName": "scim-user-1", "password": "pw", "emails": [{"value": "s@example.com"}]}
    )
    assert r.status_code == 201, r.text
    guid = r.json()["id"]
    token = login(world.server.url, "scim-user-1", "pw")["access_token"]
    assert claims(token)["user_id"] == guid
    assert claims(token)["email"] == "s@example.com"
    user = world.admin.get(f"/v3/users/{guid}")
    assert user.status_code == 200
    assert user.json()["username"] == "scim-user-1"
    duplicate = world.admin.post("/Users", json={"userName": "scim-user-1", "password": "pw"})
    assert duplicate.status_code == 409
    plain = world.api(token).post("/Users", json={"userName": "x", "password": "y"})
    assert plain.status_code == 403
