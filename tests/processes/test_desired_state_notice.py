"""Every change of desired state tells the runner hook, after its commit (so a runner woken by
it reads the new state, never the old one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ladle.db.models import Process
from tests.processes.helpers import add_instance, deployable_app
from tests.support.cf import World


class Probe:
    """Stands in the runner's place on the hook: at each notice it reads, in a fresh session, the
    instance count of the process it watches."""

    def __init__(self, world: World) -> None:
        self.db = world.server.deps.db
        self.process_guid: str | None = None
        self.seen: list[int] = []

    def __call__(self) -> None:
        if self.process_guid is None:
            return
        with self.db.session() as session:
            query = select(Process.instances).where(Process.guid == self.process_guid)
            self.seen.append(session.scalars(query).one())


@pytest.fixture
def probe(world: World) -> Iterator[Probe]:
    deps, probe = world.server.deps, Probe(world)
    original, deps.notify_desired_state = deps.notify_desired_state, probe
    try:
        yield probe
    finally:
        deps.notify_desired_state = original


def test_each_desired_state_change_notifies_after_commit(world: World, space: dict[str, Any], probe: Probe) -> None:
    app = deployable_app(world, space)
    g = probe.process_guid = app["guid"]
    seen = probe.seen
    admin = world.admin
    steps = [
        ("POST", f"/v3/apps/{g}/actions/start", None, 1),
        ("POST", f"/v3/processes/{g}/actions/scale", {"instances": 3}, 3),
        ("PATCH", f"/v3/processes/{g}", {"command": "./server.sh"}, 3),
        ("POST", f"/v3/apps/{g}/actions/restart", None, 3),
        ("DELETE", f"/v3/processes/{g}/instances/0", None, 3),
        ("POST", f"/v3/apps/{g}/tasks", {"command": "true"}, 3),
        ("POST", "/v3/deployments", {"relationships": {"app": {"data": {"guid": g}}}}, 3),
        ("POST", f"/v3/apps/{g}/actions/stop", None, 3),
    ]
    for method, path, body, instances in steps:
        before = len(seen)
        r = admin.request(method, path, json=body) if body is not None else admin.request(method, path)
        assert r.status_code < 300, (path, r.text)
        # Exactly one notice, and the state it could read was already the new one.
        assert seen[before:] == [instances], path
    task = admin.get(f"/v3/apps/{g}/tasks").json()["resources"][0]
    before = len(seen)
    assert admin.post(f"/v3/tasks/{task['guid']}/actions/cancel").status_code == 202
    assert len(seen) == before + 1
    admin.post(f"/v3/apps/{g}/actions/start")
    add_instance(world, admin.get(f"/v3/processes/{g}").json(), 0)
    deployment = admin.post("/v3/deployments", json={"relationships": {"app": {"data": {"guid": g}}}}).json()
    before = len(seen)
    assert admin.post(f"/v3/deployments/{deployment['guid']}/actions/cancel").status_code == 200
    assert len(seen) == before + 1
    # A refused change tells nobody.
    before = len(seen)
    assert admin.post(f"/v3/processes/{g}/actions/scale", json={"instances": -1}).status_code == 422
    assert len(seen) == before
