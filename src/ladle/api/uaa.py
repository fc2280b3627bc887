"""The embedded token server: the subset of UAA that CF clients log in with.

``GET /login``, ``POST /oauth/token`` (password, refresh_token and client_credentials grants),
``GET /token_keys`` and ``/token_key``, ``DELETE /oauth/token/revoke/:jti``, and SCIM
``POST /Users`` for admins. Errors here are OAuth's ``{"error", "error_description"}``, not CF's.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.token_grants import GrantError, grant_tokens, may_revoke, revoke_token
from ladle.actions.user_add import UserExists, add_user
from ladle.api.routing import RequestContext, cf_json, delete, get, post
from ladle.auth.tokens import CF_CLIENT, Client
from ladle.presenters.uaa import (
    present_login_info,
    present_oauth_error,
    present_openid_configuration,
    present_scim_error,
    present_scim_user,
)

__all__ = ["routes"]

CLIENTS = {CF_CLIENT.client_id: CF_CLIENT}


def oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"WWW-Authenticate": f'Bearer error="{error}", error_description="{description}"'}
    return cf_json(present_oauth_error(error, description), status=status, headers=headers)


def login_info(ctx: RequestContext) -> Response:
    return cf_json(present_login_info(ctx.deps.settings.token_server_url, datetime.now(UTC)))


def _client(ctx: RequestContext, form: dict[str, str]) -> Client | None:
    """The client named by HTTP Basic or by the form, if its secret matches."""
    client_id, secret = form.get("client_id"), form.get("client_secret", "")
    header = ctx.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    client = CLIENTS.get(client_id or "")
    if client is None or client.secret != secret:
        return None
    return client


def token(ctx: RequestContext) -> Response:
    issuer = ctx.deps.issuer
    assert issuer is not None
    form = dict(parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True))
    form.update({k: v for k, v in ctx.query.pairs if k not in form})
    client = _client(ctx, form)
    if client is None:
        return oauth_error(401, "unauthorized", "Bad credentials")
    try:
        body = grant_tokens(ctx.db, issuer, client, form)
    except GrantError as exc:
        return oauth_error(exc.status, exc.error, exc.description)
    return cf_json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def openid_configuration(ctx: RequestContext) -> Response:
    assert ctx.deps.issuer is not None
    return cf_json(present_openid_configuration(ctx.deps.issuer.issuer, ctx.deps.settings.token_server_url))


def token_keys(ctx: RequestContext) -> Response:
    assert ctx.deps.issuer is not None
    return cf_json({"keys": [ctx.deps.issuer.key.jwk()]})


def token_key(ctx: RequestContext) -> Response:
    assert ctx.deps.issuer is not None
    return cf_json(ctx.deps.issuer.key.jwk())


def revoke(ctx: RequestContext) -> Response:
    identity = ctx.user
    if not may_revoke(identity, ctx.param("jti")):
        return oauth_error(403, "access_denied", "Access is denied")
    revoke_token(ctx.db, identity, ctx.param("jti"), ctx.deps.settings.refresh_token_ttl)
    return Response(status_code=200)


def _scim_error(status: int, error: str, message: str) -> Response:
    return cf_json(present_scim_error(error, message), status=status)


def scim_create_user(ctx: RequestContext) -> Response:
    identity = ctx.user
    if not identity.scopes & {"scim.write", "uaa.admin", "scim.create"}:
        return _scim_error(403, "insufficient_scope", "Insufficient scope for this resource")
    try:
        body: Any = json.loads(ctx.body or b"{}")
    except ValueError:
        return _scim_error(400, "invalid_scim_resource", "Request invalid: the body is not JSON")
    username = body.get("userName") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        return _scim_error(400, "invalid_scim_resource", "A username and a password must be provided")
    emails = body.get("emails") or []
    email = emails[0].get("value") if emails and isinstance(emails[0], dict) else None
    try:
        guid = add_user(ctx.deps.db, username, password, email=email)
    except UserExists:
        return _scim_error(409, "scim_resource_already_exists", "Username already in use: " + username)
    return cf_json(present_scim_user(guid, username, email), status=201)


def routes() -> list[BaseRoute]:
    return [
        get("/login", login_info, access="public"),
        get("/info", login_info, access="public"),
        post("/oauth/token", token, access="public"),
        get("/token_keys", token_keys, access="public"),
        get("/.well-known/openid-configuration", openid_configuration, access="public"),
        get("/token_key", token_key, access="public"),
        delete("/oauth/token/revoke/{jti}", revoke, access="token"),
        post("/Users", scim_create_user, access="token"),
    ]
