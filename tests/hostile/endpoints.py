"""Every endpoint of a server, read from its route table, and a victim's resources to aim them at."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.routing import Route

from ladle.api.routing import Access, access_of
from ladle.app import create_app
from tests.processes.helpers import deployable_app
from tests.staging.helpers import ready_package
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import World, unique
from tests.support.server import RunningServer

__all__ = ["Endpoint", "Victim", "endpoints", "make_victim"]

_PARAM = re.compile(r"{(\w+)}")
# Collections every user may read (or that are no one's in particular): not the victim's secrets.
NOBODY = "00000000-0000-4000-8000-000000000000"
GLOBAL = frozenset({"buildpacks", "stacks", "feature_flags", "jobs", "revoke"})
QUICK = {"compile": "true\n", "release": 'printf "default_process_types:\\n  web: ./run\\n"\n'}


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    access: Access

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.template)

    @property
    def collection(self) -> str:
        """The collection the path's first ``{guid}`` belongs to (``apps`` in ``/v3/apps/{guid}/env``)."""
        head = self.template.split("{", 1)[0].rstrip("/")
        return head.rsplit("/", 1)[-1]

    @property
    def uaa(self) -> bool:
        """One of the embedded token server's: it answers in UAA's error format, not CF's."""
        return not self.template.startswith(("/v3", "/api/"))

    def url(self, values: Mapping[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def endpoints(server: RunningServer) -> list[Endpoint]:
    """Every (method, path) the app serves, straight from the Starlette route table; deletes last,
    so a refusal that fails does the least harm to the checks after it."""
    app = create_app(server.settings, server.deps)
    found = [
        Endpoint(method, route.path, access_of(route.endpoint))
        for route in app.routes
        if isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"})
    ]
    assert len(found) > 100, "the route table looks empty"
    return sorted(found, key=lambda e: e.method == "DELETE")


@dataclass
class Victim:
    """Resources of one org and space, made by an admin, with every guid a path may name."""

    guids: dict[str, str]  # collection -> guid
    names: list[str]
    values: dict[str, str]  # path parameter -> value, besides guid

    def fill(self, endpoint: Endpoint, **override: str) -> str:
        # A collection without a victim of its own still gets a well-formed guid: the request
        # must reach its route (an empty segment would only be redirected or unknown).
        values = {**self.values, "guid": self.guids.get(endpoint.collection, NOBODY), **override}
        return endpoint.url(values)

    def scoped(self, endpoint: Endpoint) -> bool:
        """Whether the path names a resource of the victim's org or space (not a global one)."""
        return bool(endpoint.params) and endpoint.collection in self.guids and endpoint.collection not in GLOBAL

    @property
    def secrets(self) -> list[str]:
        """What must never appear in an answer to someone who cannot see these resources."""
        scoped = [guid for collection, guid in self.guids.items() if collection not in GLOBAL]
        return [*scoped, self.values["destination_guid"], *self.names]


def _created(r: Any) -> dict[str, Any]:
    assert r.status_code in {200, 201, 202}, r.text
    return dict(r.json())


def _ref(guid: str) -> dict[str, Any]:
    return {"data": {"guid": guid}}


def make_victim(world: World) -> Victim:
    admin = world.admin
    org = world.org()
    space = world.space(org)
    app = deployable_app(world, space)
    package = ready_package(world, app, {"index.html": "hi"})
    droplet = admin.get(f"/v3/apps/{app['guid']}/droplets/current").json()
    process = admin.get(f"/v3/apps/{app['guid']}/processes/web").json()
    domain = _created(
        admin.post(
            "/v3/domains",
            json={"name": unique("victim") + ".example.com", "relationships": {"organization": _ref(org["guid"])}},
        )
    )
    route = _created(
        admin.post(
            "/v3/routes",
            json={"host": unique("h"), "relationships": {"space": _ref(space["guid"]), "domain": _ref(domain["guid"])}},
        )
    )
    destinations = _created(
        admin.post(f"/v3/routes/{route['guid']}/destinations", json={"destinations": [{"app": {"guid": app["guid"]}}]})
    )
    user_guid, username = world.new_user()
    role = _created(
        admin.post(
            "/v3/roles",
            json={
                "type": "organization_user",
                "relationships": {"user": _ref(user_guid), "organization": _ref(org["guid"])},
            },
        )
    )
    task = _created(admin.post(f"/v3/apps/{app['guid']}/tasks", json={"command": "true"}))
    deployment = _created(admin.post("/v3/deployments", json={"relationships": {"app": _ref(app["guid"])}}))
    buildpack_dir = Path(tempfile.mkdtemp(prefix="victim-bp-", dir=world.server.settings.data_dir.parent))
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [git_repository(write_buildpack(buildpack_dir, QUICK))]}}
    build = _created(admin.post("/v3/builds", json={"package": {"guid": package}, "lifecycle": lifecycle}))
    doomed = world.org()
    job = admin.delete(f"/v3/organizations/{doomed['guid']}").headers["location"].rsplit("/", 1)[-1]
    buildpack = _created(admin.post("/v3/buildpacks", json={"name": unique("victim_bp"), "stack": None}))
    instance = _created(
        admin.post(
            "/v3/service_instances",
            json={
                "type": "user-provided",
                "name": unique("victim-ups"),
                "credentials": {"password": "victim-secret"},
                "relationships": {"space": _ref(space["guid"])},
            },
        )
    )
    binding = _created(
        admin.post(
            "/v3/service_credential_bindings",
            json={
                "type": "app",
                "relationships": {"app": _ref(app["guid"]), "service_instance": _ref(instance["guid"])},
            },
        )
    )
    space_quota = _created(
        admin.post(
            "/v3/space_quotas", json={"name": unique("victim-sq"), "relationships": {"organization": _ref(org["guid"])}}
        )
    )
    # The stack the victim's app runs on: its app list must not show the app to others.
    stack = admin.get(f"/v3/stacks?names={app['lifecycle']['data']['stack']}").json()["resources"][0]
    guids = {
        "organizations": org["guid"],
        "spaces": space["guid"],
        "apps": app["guid"],
        "packages": package,
        "droplets": droplet["guid"],
        "processes": process["guid"],
        "domains": domain["guid"],
        "routes": route["guid"],
        "roles": role["guid"],
        "tasks": task["guid"],
        "deployments": deployment["guid"],
        "builds": build["guid"],
        "jobs": job,
        "buildpacks": buildpack["guid"],
        "stacks": stack["guid"],
        "users": user_guid,
        "service_instances": instance["guid"],
        "user_provided_service_instances": instance["guid"],
        "service_credential_bindings": binding["guid"],
        "service_bindings": binding["guid"],
        "space_quotas": space_quota["guid"],
        "feature_flags": "diego_docker",
        "read": app["guid"],
        "revoke": "0" * 32,
    }
    values = {
        "name": "diego_docker",
        "type": "web",
        "index": "0",
        "source_id": app["guid"],
        "jti": "0" * 32,
        "destination_guid": destinations["destinations"][0]["guid"],
        "space_guid": space["guid"],
    }
    names = [org["name"], space["name"], app["name"], domain["name"], route["host"], username, instance["name"]]
    return Victim(guids, names, values)
