"""The embedded token server's documents, in UAA's shapes (not Cloud Controller's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ladle import __version__

__all__ = [
    "UAA_COMPATIBLE_VERSION",
    "present_login_info",
    "present_oauth_error",
    "present_openid_configuration",
    "present_scim_error",
    "present_scim_user",
]

# The UAA release whose behaviour this token server follows; the cf CLI wants at least 4.26.0
# before it sends --origin.
UAA_COMPATIBLE_VERSION = "77.30.0"


def present_login_info(base: str, now: datetime) -> dict[str, Any]:
    return {
        "app": {"version": UAA_COMPATIBLE_VERSION},
        "links": {
            "uaa": base,
            "passwd": "/forgot_password",
            "login": base,
            "register": "/create_account",
        },
        "zone_name": "uaa",
        "entityID": "ladle",
        "commit_id": f"ladle-{__version__}",
        "idpDefinitions": {},
        "prompts": {"username": ["text", "Email"], "password": ["password", "Password"]},
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def present_openid_configuration(issuer: str, base: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/token_keys",
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def present_oauth_error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}


def present_scim_error(error: str, message: str) -> dict[str, Any]:
    return {"error": error, "error_description": message, "message": message}


def present_scim_user(guid: str, username: str, email: str | None) -> dict[str, Any]:
    return {
        "id": guid,
        "userName": username,
        "origin": "uaa",
        "emails": [{"value": email or username, "primary": True}],
        "active": True,
        "verified": True,
        "schemas": ["urn:scim:schemas:core:1.0"],
    }
