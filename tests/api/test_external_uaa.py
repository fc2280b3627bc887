"""Verifying the tokens of an external UAA: here, a second Ladle's token server plays the UAA."""

from __future__ import annotations

import httpx
import jwt

from tests.support.cf import login
from tests.support.server import ADMIN_PASSWORD, RunningServer, run_server


def test_tokens_from_external_uaa(server: RunningServer, tmp_path_factory: object) -> None:
    uaa = server  # a full Ladle, used only for its token server
    data_dir = tmp_path_factory.mktemp("external")  # type: ignore[attr-defined]
    with run_server("sqlite", data_dir, "unused", uaa_url=uaa.url) as api:
        root = httpx.get(f"{api.url}/").json()["links"]
        assert root["login"] == {"href": uaa.url} and root["uaa"] == {"href": uaa.url}
        # The embedded token server is not mounted when an external UAA is configured.
        assert httpx.post(f"{api.url}/oauth/token", data={"grant_type": "password"}).status_code == 404

        token = login(uaa.url, "admin", ADMIN_PASSWORD)["access_token"]
        headers = {"Authorization": f"bearer {token}"}
        created = httpx.post(f"{api.url}/v3/organizations", json={"name": "ext-org"}, headers=headers)
        assert created.status_code == 201, created.text
        me = jwt.decode(token, options={"verify_signature": False})["user_id"]
        users = httpx.get(f"{api.url}/v3/users/{me}", headers=headers)
        assert users.status_code == 200 and users.json()["username"] == "admin"

        own = login(uaa.url, "admin", ADMIN_PASSWORD)["access_token"]
        issuer = uaa.deps.issuer
        assert issuer is not None
        claims = jwt.decode(own, options={"verify_signature": False})
        foreign = jwt.encode(
            {**claims, "iss": "https://elsewhere/oauth/token"},
            issuer.key.private_key,
            algorithm="RS256",
            headers={"kid": issuer.key.kid},
        )
        r = httpx.get(f"{api.url}/v3/apps", headers={"Authorization": f"bearer {foreign}"})
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == 1000
