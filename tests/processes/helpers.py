"""Apps that can run, and the actual state a runner would report, for the processes tests."""

from __future__ import annotations

import io
import tarfile
import uuid
from datetime import timedelta
from typing import Any

from ladle.clock import utcnow
from ladle.db.models import Instance
from tests.support.cf import ROLES, Api, World

__all__ = [
    "CANNOT_SEE",
    "MANAGE",
    "NOT_AUTHORIZED",
    "WRITE",
    "Between",
    "add_instance",
    "cf_error",
    "deployable_app",
    "expected_process",
    "role_matrix",
    "staged_droplet",
]


# cf-run.md section 1: who cannot see a space's apps, who writes (W) and who manages (M) them.
CANNOT_SEE = frozenset({"org_auditor", "org_billing_manager", "no_role"})
WRITE = frozenset({"admin", "space_developer"})
MANAGE = WRITE | {"space_supporter"}


class Between:
    """An integer in ``[low, high]`` (uptimes tick while a test runs)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __eq__(self, other: object) -> bool:
        return type(other) is int and self.low <= other <= self.high

    def __repr__(self) -> str:
        return f"Between({self.low}, {self.high})"

    __hash__ = None  # type: ignore[assignment]


def cf_error(detail: str, title: str = "CF-UnprocessableEntity", code: int = 10008) -> dict[str, Any]:
    return {"errors": [{"detail": detail, "title": title, "code": code}]}


NOT_AUTHORIZED = cf_error("You are not authorized to perform the requested action", "CF-NotAuthorized", 10003)


def _droplet_tgz() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = b"#!/bin/sh\nexec python3 -m http.server $PORT\n"
        info = tarfile.TarInfo("./app/server.sh")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def staged_droplet(api: Api, app: dict[str, Any], process_types: dict[str, str] | None = None) -> str:
    """A STAGED droplet of ``app`` (uploaded, so it is a real one); returns its guid."""
    body = {
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "process_types": process_types or {"web": "./server.sh"},
    }
    created = api.post("/v3/droplets", json=body)
    assert created.status_code == 201, created.text
    guid = str(created.json()["guid"])
    r = api.post(f"/v3/droplets/{guid}/upload", files={"bits": ("droplet.tgz", _droplet_tgz(), "application/gzip")})
    assert r.status_code == 202, r.text
    assert api.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    return guid


def deployable_app(
    world: World, space: dict[str, Any], process_types: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    """An app with a current droplet (so it can start, run tasks and deploy)."""
    app = world.app(space, **fields)
    droplet = staged_droplet(world.admin, app, process_types)
    r = world.admin.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet}})
    assert r.status_code == 200, r.text
    return dict(world.admin.get(f"/v3/apps/{app['guid']}").json())


def add_instance(
    world: World,
    process: dict[str, Any],
    index: int,
    *,
    age: int = 0,
    version: str | None = None,
    **fields: Any,
) -> Instance:
    """Write one instance row as a runner reports it (``age``: seconds since its state began)."""
    values: dict[str, Any] = {
        "guid": str(uuid.uuid4()),
        "process_guid": process["guid"],
        "app_guid": process["relationships"]["app"]["data"]["guid"],
        "process_version": version or process["version"],
        "index": index,
        "state": "RUNNING",
        "since": utcnow() - timedelta(seconds=age),
        "node": "test-node",
    }
    values.update(fields)
    with world.server.deps.db.session() as session:
        row = Instance(**values)
        session.add(row)
        session.commit()
        return row


def expected_process(base: str, app: dict[str, Any], process: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A process's full JSON; ``process`` supplies what a test cannot know (guid, version, times)."""
    g = process["guid"]
    web = process["type"] == "web"
    body: dict[str, Any] = {
        "guid": g,
        "created_at": process["created_at"],
        "updated_at": process["updated_at"],
        "version": process["version"],
        "type": process["type"],
        "command": "./server.sh" if web else "",
        "user": "vcap",
        "instances": 1 if web else 0,
        "memory_in_mb": 1024,
        "disk_in_mb": 1024,
        "log_rate_limit_in_bytes_per_second": -1,
        "health_check": {
            "type": "port" if web else "process",
            "data": {"timeout": None, "invocation_timeout": None, "interval": None},
        },
        "readiness_health_check": {"type": "process", "data": {"invocation_timeout": None, "interval": None}},
        "relationships": {"app": {"data": {"guid": app["guid"]}}, "revision": None},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/processes/{g}"},
            "scale": {"href": f"{base}/v3/processes/{g}/actions/scale", "method": "POST"},
            "app": {"href": f"{base}/v3/apps/{app['guid']}"},
            "space": {"href": f"{base}/v3/spaces/{app['relationships']['space']['data']['guid']}"},
            "stats": {"href": f"{base}/v3/processes/{g}/stats"},
            "process_instances": {"href": f"{base}/v3/processes/{g}/process_instances"},
        },
    }
    body.update(changes)
    return body


def role_matrix(world: World) -> dict[str, Any]:
    """A started app in a new space, and a client for each of Cloud Controller's roles there."""
    org = world.org()
    space = world.space(org)
    app = deployable_app(world, space)
    assert world.admin.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    apis = {role: world.as_role(role, org, space) for role in ROLES}
    return {"org": org, "space": space, "app": app, "apis": apis}
