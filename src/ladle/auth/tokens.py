"""Issuing and verifying UAA-style JWTs.

The embedded token server signs RS256 tokens with the key in the data directory. A verifier
checks a token's signature, expiry and audience and turns its claims into an :class:`Identity`;
it knows either our own key or an external UAA's published keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm
from jwt.types import Options

from ladle.auth.identity import Identity
from ladle.auth.keys import SigningKey
from ladle.clock import new_guid

__all__ = [
    "ADMIN_USER_SCOPES",
    "CF_CLIENT",
    "DEFAULT_USER_SCOPES",
    "Client",
    "ExternalUaaVerifier",
    "InvalidToken",
    "LocalVerifier",
    "TokenIssuer",
    "TokenVerifier",
    "identity_from_claims",
]

AUDIENCE = "cloud_controller"


class InvalidToken(Exception):
    """The token is malformed, expired, revoked, or not signed by a key we trust."""


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    grant_types: frozenset[str]
    # Scopes user tokens issued through this client may carry.
    scope: frozenset[str]
    # Scopes of the client's own (client_credentials) tokens.
    authorities: frozenset[str]


DEFAULT_USER_SCOPES = (
    "openid",
    "cloud_controller.read",
    "cloud_controller.write",
    "password.write",
    "uaa.user",
)
ADMIN_USER_SCOPES = (
    *DEFAULT_USER_SCOPES,
    "cloud_controller.admin",
    "scim.read",
    "scim.write",
    "uaa.admin",
    "routing.router_groups.read",
    "doppler.firehose",
)

CF_CLIENT = Client(
    client_id="cf",
    secret="",
    grant_types=frozenset({"password", "refresh_token", "client_credentials"}),
    scope=frozenset(
        {
            "cloud_controller.read",
            "cloud_controller.write",
            "openid",
            "password.write",
            "cloud_controller.admin",
            "cloud_controller.admin_read_only",
            "cloud_controller.global_auditor",
            "cloud_controller.update_build_state",
            "scim.read",
            "scim.write",
            "doppler.firehose",
            "uaa.user",
            "uaa.admin",
            "routing.router_groups.read",
            "routing.router_groups.write",
            "network.admin",
            "network.write",
        }
    ),
    authorities=frozenset({"uaa.none"}),
)


@dataclass(frozen=True)
class TokenUser:
    guid: str
    username: str
    origin: str
    email: str | None
    scopes: frozenset[str]


class TokenIssuer:
    """Signs access and refresh tokens for the embedded token server."""

    def __init__(self, key: SigningKey, issuer_base: str, access_ttl: int, refresh_ttl: int) -> None:
        self.key = key
        self.issuer = issuer_base.rstrip("/") + "/oauth/token"
        self.jku = issuer_base.rstrip("/") + "/token_keys"
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def _sign(self, claims: dict[str, Any]) -> str:
        headers = {"kid": self.key.kid, "jku": self.jku, "typ": "JWT"}
        return jwt.encode(claims, self.key.private_key, algorithm="RS256", headers=headers)

    def user_tokens(self, user: TokenUser, client: Client, requested: Iterable[str], grant_type: str) -> dict[str, Any]:
        scopes = sorted(granted_scopes(user.scopes & client.scope, requested))
        now = int(time.time())
        jti = new_guid().replace("-", "")
        user_claims = {
            "user_id": user.guid,
            "origin": user.origin,
            "user_name": user.username,
            "email": user.email or user.username,
        }
        audience = audience_of(scopes, client.client_id)
        access = {
            "jti": jti,
            "sub": user.guid,
            "scope": scopes,
            "client_id": client.client_id,
            "cid": client.client_id,
            "azp": client.client_id,
            "grant_type": grant_type,
            **user_claims,
            "auth_time": now,
            "rev_sig": "",
            "iat": now,
            "exp": now + self.access_ttl,
            "iss": self.issuer,
            "zid": "uaa",
            "aud": audience,
            "revocable": True,
        }
        refresh = {
            "jti": jti + "-r",
            "sub": user.guid,
            "scope": scopes,
            "client_id": client.client_id,
            "cid": client.client_id,
            "grant_type": grant_type,
            **user_claims,
            "iat": now,
            "exp": now + self.refresh_ttl,
            "iss": self.issuer,
            "zid": "uaa",
            "aud": audience,
            "revocable": True,
            "token_use": "refresh",
        }
        return {
            "access_token": self._sign(access),
            "token_type": "bearer",
            "refresh_token": self._sign(refresh),
            "expires_in": self.access_ttl - 1,
            "scope": " ".join(scopes),
            "jti": jti,
        }

    def client_token(self, client: Client, requested: Iterable[str]) -> dict[str, Any]:
        scopes = sorted(granted_scopes(client.authorities, requested))
        now = int(time.time())
        jti = new_guid().replace("-", "")
        claims = {
            "jti": jti,
            "sub": client.client_id,
            "authorities": scopes,
            "scope": scopes,
            "client_id": client.client_id,
            "cid": client.client_id,
            "azp": client.client_id,
            "grant_type": "client_credentials",
            "rev_sig": "",
            "iat": now,
            "exp": now + self.access_ttl,
            "iss": self.issuer,
            "zid": "uaa",
            "aud": audience_of(scopes, client.client_id),
            "revocable": True,
        }
        return {
            "access_token": self._sign(claims),
            "token_type": "bearer",
            "expires_in": self.access_ttl - 1,
            "scope": " ".join(scopes),
            "jti": jti,
        }

    def decode_refresh(self, token: str) -> dict[str, Any]:
        """The claims of one of our refresh tokens; InvalidToken says why it is not one."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.key.public_key, algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Invalid refresh token (expired)") from None
        except jwt.PyJWTError:
            raise InvalidToken("Could not verify token signature.") from None
        if claims.get("token_use") != "refresh" or not str(claims.get("jti", "")).endswith("-r"):
            raise InvalidToken("Invalid refresh token.")
        if claims.get("iss") != self.issuer:
            raise InvalidToken("Invalid issuer for token")
        return claims


def audience_of(scopes: list[str], client_id: str) -> list[str]:
    """UAA's resource ids: the client, plus each scope without its last dot-part."""
    resources = {client_id}
    for scope in scopes:
        if scope == "uaa.none":
            continue
        resources.add(scope.rsplit(".", 1)[0] if "." in scope else scope)
    return sorted(resources)


def granted_scopes(allowed: frozenset[str], requested: Iterable[str]) -> frozenset[str]:
    """UAA narrows to the requested scopes when any are asked for; an empty request means all."""
    wanted = frozenset(s for s in requested if s)
    return allowed & wanted if wanted else allowed


def _decode(token: str, key: Any, audience: str | None) -> dict[str, Any]:
    options: Options = {"require": ["exp", "iat"], "verify_aud": audience is not None}
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], audience=audience, options=options)
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    return claims


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    scope = claims.get("scope") or []
    if isinstance(scope, str):
        scope = scope.split()
    client_id = str(claims.get("client_id") or claims.get("cid") or "")
    user_id = claims.get("user_id")
    if not isinstance(user_id, str) and not client_id:
        raise InvalidToken("token names neither a user nor a client")
    if claims.get("token_use") == "refresh" or str(claims.get("jti", "")).endswith("-r"):
        raise InvalidToken("refresh tokens are not access tokens")
    return Identity(
        user_guid=user_id if isinstance(user_id, str) else client_id,
        username=claims.get("user_name") if isinstance(user_id, str) else None,
        email=claims.get("email") if isinstance(user_id, str) else None,
        origin=claims.get("origin") if isinstance(user_id, str) else None,
        client_id=client_id,
        scopes=frozenset(str(s) for s in scope),
        jti=str(claims.get("jti") or ""),
        expires_at=int(claims["exp"]),
    )


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Identity: ...


class LocalVerifier:
    """Verifies tokens signed by our own key.

    A client sends the same token on every request until it expires; checking its RSA signature
    again each time would cost more than most requests' own work. Verified tokens are remembered
    (bounded) until their expiry: the key never changes under a verifier, so the answer cannot.
    """

    MAX_REMEMBERED = 10_000

    def __init__(self, key: SigningKey) -> None:
        self.public_key = key.public_key
        self._verified: dict[str, Identity] = {}

    def verify(self, token: str) -> Identity:
        identity = self._verified.get(token)
        if identity is not None and identity.expires_at > time.time():
            return identity
        identity = identity_from_claims(_decode(token, self.public_key, audience=AUDIENCE))
        if len(self._verified) >= self.MAX_REMEMBERED:
            self._verified.clear()  # rare: cheaper than an LRU's bookkeeping on every request
        self._verified[token] = identity
        return identity


class ExternalUaaVerifier:
    """Verifies tokens of an external UAA with the keys it publishes at ``/token_keys``.

    Keys are fetched on first use and again when a token names a key id we have not seen
    (UAA rotates keys that way), at most once every ``refetch_interval`` seconds.
    """

    def __init__(self, uaa_url: str, *, refetch_interval: float = 30.0, timeout: float = 10.0) -> None:
        self.base = uaa_url.rstrip("/")
        self.url = self.base + "/token_keys"
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self._keys: dict[str, Any] = {}
        self._issuer: str | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self, url: str) -> Any:
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InvalidToken(f"cannot fetch {url}: {exc}") from None

    def issuer(self) -> str:
        """The issuer the UAA announces; tokens naming another one are refused, as CC does."""
        if self._issuer is None:
            issuer = self._fetch(self.base + "/.well-known/openid-configuration").get("issuer")
            if not isinstance(issuer, str):
                raise InvalidToken("the UAA announces no issuer")
            self._issuer = issuer
        return self._issuer

    def _refresh_keys(self) -> None:
        with self._lock:
            if time.monotonic() - self._fetched_at < self.refetch_interval and self._keys:
                return
            body = self._fetch(self.url)
            keys: dict[str, Any] = {}
            for jwk in body.get("keys", []):
                keys[str(jwk.get("kid", ""))] = RSAAlgorithm.from_jwk(jwk)
            self._keys = keys
            self._fetched_at = time.monotonic()

    def verify(self, token: str) -> Identity:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if kid not in self._keys:
            self._refresh_keys()
        key = self._keys.get(kid)
        if key is None and len(self._keys) == 1 and not kid:
            key = next(iter(self._keys.values()))
        if key is None:
            raise InvalidToken(f"unknown signing key {kid!r}")
        claims = _decode(token, key, audience=AUDIENCE)
        if claims.get("iss") != self.issuer():
            raise InvalidToken("token from another issuer")
        return identity_from_claims(claims)
