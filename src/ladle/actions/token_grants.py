"""The OAuth grants of the embedded token server, and token revocation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.auth.identity import Identity
from ladle.auth.passwords import verify_password
from ladle.auth.tokens import Client, InvalidToken, TokenIssuer, TokenUser
from ladle.db.models import User
from ladle.db.revocation import is_revoked, record_revoked

__all__ = ["GrantError", "grant_tokens", "may_revoke", "revoke_token"]


class GrantError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def _token_user(user: User) -> TokenUser:
    return TokenUser(
        guid=user.guid,
        username=user.username or user.guid,
        origin=user.origin or "uaa",
        email=user.email,
        scopes=frozenset(user.scopes.split()),
    )


def _origin_hint(form: dict[str, str]) -> str:
    hint = form.get("login_hint")
    if hint:
        try:
            origin = json.loads(hint).get("origin")
        except (ValueError, AttributeError):
            origin = None
        if isinstance(origin, str) and origin:
            return origin
    return "uaa"


def grant_tokens(session: Session, issuer: TokenIssuer, client: Client, form: dict[str, str]) -> dict[str, object]:
    grant = form.get("grant_type", "")
    requested = form.get("scope", "").split()
    if not grant:
        raise GrantError(400, "invalid_request", "Missing grant type")
    if grant not in {"password", "refresh_token", "client_credentials"}:
        raise GrantError(400, "unsupported_grant_type", "Unsupported grant type")
    if grant not in client.grant_types:
        raise GrantError(401, "invalid_client", f"Unauthorized grant type: {grant}")
    if grant == "client_credentials":
        return issuer.client_token(client, requested)
    if grant == "password":
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise GrantError(401, "unauthorized", "Bad credentials")
        user = session.scalars(select(User).where(User.username == username, User.origin == _origin_hint(form))).first()
        if user is None or not verify_password(password, user.password_hash):
            raise GrantError(401, "unauthorized", "Bad credentials")
        return issuer.user_tokens(_token_user(user), client, requested, "password")
    refresh = form.get("refresh_token")
    if not refresh:
        raise GrantError(400, "invalid_request", "refresh_token parameter not provided")
    try:
        claims = issuer.decode_refresh(refresh)
    except InvalidToken as exc:
        raise GrantError(401, "invalid_token", str(exc)) from None
    if claims.get("client_id") != client.client_id:
        raise GrantError(400, "invalid_grant", f"Wrong client for this refresh token: {claims.get('client_id')}")
    if is_revoked(session, str(claims.get("jti", ""))):
        raise GrantError(401, "invalid_token", f"The token has been revoked: {claims.get('jti')}")
    user = session.scalars(select(User).where(User.guid == claims.get("user_id"))).first()
    if user is None:
        raise GrantError(401, "invalid_token", "Invalid refresh token: the user no longer exists.")
    token_user = _token_user(user)
    # A refreshed token never carries more than the original did, nor more than the user has now.
    narrowed = TokenUser(
        token_user.guid,
        token_user.username,
        token_user.origin,
        token_user.email,
        token_user.scopes & frozenset(claims.get("scope") or []),
    )
    return issuer.user_tokens(narrowed, client, requested, str(claims.get("grant_type") or "password"))


def may_revoke(identity: Identity, jti: str) -> bool:
    """Callers revoke their own token; holders of tokens.revoke or uaa.admin revoke any."""
    return jti == identity.jti or bool(identity.scopes & {"tokens.revoke", "uaa.admin"})


def revoke_token(session: Session, identity: Identity, jti: str, refresh_ttl: int) -> None:
    """Revoke a token and the refresh token issued with it (the caller checked ``may_revoke``)."""
    # Keep the row as long as the longest-lived token of the pair could still be presented.
    expires = datetime.fromtimestamp(identity.expires_at + refresh_ttl, UTC).replace(tzinfo=None)
    record_revoked(session, [jti, jti + "-r"], expires)
