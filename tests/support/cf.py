"""Talking to a running Ladle as CF clients do, and building orgs, spaces, users and apps through it."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ladle.actions.user_add import add_user
from tests.support.server import ADMIN_PASSWORD, RunningServer
from tests.support.waiting import wait_until

__all__ = ["ROLES", "Api", "World", "login"]

_counter = itertools.count()

# Cloud Controller's request-spec roles: local roles, then global ones.
LOCAL_ROLES = (
    "space_developer",
    "space_manager",
    "space_auditor",
    "space_supporter",
    "org_manager",
    "org_auditor",
    "org_billing_manager",
    "no_role",
)
GLOBAL_ROLES = ("admin", "admin_read_only", "global_auditor")
ROLES = LOCAL_ROLES + GLOBAL_ROLES
GLOBAL_SCOPES = {
    "admin_read_only": ["cloud_controller.admin_read_only"],
    "global_auditor": ["cloud_controller.global_auditor"],
}
ORG_ROLE_TYPES = {
    "org_manager": "organization_manager",
    "org_auditor": "organization_auditor",
    "org_billing_manager": "organization_billing_manager",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


def login(base_url: str, username: str, password: str, scope: str = "") -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": password, "scope": scope},
        auth=("cf", ""),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class Api:
    """An HTTP client carrying one user's bearer token."""

    def __init__(self, base_url: str, token: str | None = None, user_guid: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.user_guid = user_guid
        headers = {"Authorization": f"bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def wait_for(self, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        """GET ``path`` until ``done(body)`` holds; returns that body."""
        seen: dict[str, Any] = {}

        def check() -> dict[str, Any] | None:
            seen.update(self.get(path).json())
            return dict(seen) if done(seen) else None

        return wait_until(check, timeout=timeout, message=lambda: f"{path}: {seen}")

    def wait_for_job(self, location: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll a job until it is COMPLETE or FAILED."""
        return self.wait_for(location, lambda job: job["state"] in {"COMPLETE", "FAILED"}, timeout)


@dataclass
class World:
    """Fixtures built through the API as an admin would."""

    server: RunningServer
    # Whether tests may change this server's feature flags (it is not the shared one).
    owns_flags: bool = False
    admin: Api = field(init=False)

    def __post_init__(self) -> None:
        token = login(self.server.url, "admin", ADMIN_PASSWORD)["access_token"]
        self.admin = Api(self.server.url, token)

    def api(self, token: str | None = None) -> Api:
        return Api(self.server.url, token)

    def org(self, **fields: Any) -> dict[str, Any]:
        r = self.admin.post("/v3/organizations", json={"name": unique("org"), **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def space(self, org: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        org = org or self.org()
        body = {"name": unique("space"), "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
        r = self.admin.post("/v3/spaces", json={**body, **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def app(self, space: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        space = space or self.space()
        body = {"name": unique("app"), "relationships": {"space": {"data": {"guid": space["guid"]}}}}
        r = self.admin.post("/v3/apps", json={**body, **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def docker_app(self, space: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """An app with the docker lifecycle. The ``diego_docker`` flag it needs is turned on for the
        moment of creation only, on a server whose flags tests own (``flags_world``)."""
        assert self.owns_flags, "docker apps need a feature flag changed: use the flags_world fixture"
        r = self.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True})
        assert r.status_code == 200, r.text
        try:
            return self.app(space, lifecycle={"type": "docker", "data": {}}, **fields)
        finally:
            self.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": False})

    def new_user(self, *, scopes: list[str] | None = None, admin: bool = False) -> tuple[str, str]:
        """A user of the embedded token server; returns (guid, username)."""
        username = unique("user")
        guid = add_user(self.server.deps.db, username, "pw-" + username, admin=admin, extra_scopes=scopes or [])
        return guid, username

    def login_as(self, username: str, scope: str = "") -> Api:
        tokens = login(self.server.url, username, "pw-" + username, scope)
        return Api(self.server.url, tokens["access_token"])

    def give_role(self, user_guid: str, role_type: str, *, org: str | None = None, space: str | None = None) -> None:
        target = {"space": {"data": {"guid": space}}} if space else {"organization": {"data": {"guid": org}}}
        body = {"type": role_type, "relationships": {"user": {"data": {"guid": user_guid}}, **target}}
        r = self.admin.post("/v3/roles", json=body)
        assert r.status_code == 201, r.text

    def as_role(self, role: str, org: dict[str, Any], space: dict[str, Any]) -> Api:
        """A user holding ``role`` the way Cloud Controller's request specs set one up."""
        if role == "admin":
            guid, name = self.new_user(admin=True)
        else:
            guid, name = self.new_user(scopes=GLOBAL_SCOPES.get(role))
        if role in LOCAL_ROLES and role != "no_role":
            self.give_role(guid, "organization_user", org=org["guid"])
            if role in ORG_ROLE_TYPES:
                self.give_role(guid, ORG_ROLE_TYPES[role], org=org["guid"])
            else:
                self.give_role(guid, role, space=space["guid"])
        api = self.login_as(name)
        api.user_guid = guid
        return api
