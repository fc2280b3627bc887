"""The runtime's crash events, read through ``/v3/audit_events`` by those allowed to see them."""

from __future__ import annotations

from typing import Any

from tests.runner.test_local_runner import _staged_app, _start, buildpack, wait_until, world
from tests.support.cf import World

__all__ = ["buildpack", "world"]  # the local runner's fixtures, used here


def test_a_crash_is_an_audit_event_seen_by_the_spaces_auditor(world: World, buildpack: str) -> None:
    app = _staged_app(world, buildpack, {"server.py": "import sys; print('bye'); sys.exit(7)"})
    g = app["guid"]
    _start(world, app)

    def crashes() -> list[dict[str, Any]]:
        r = world.admin.get("/v3/audit_events", params={"target_guids": g, "types": "audit.app.process.crash"})
        return list(r.json()["resources"])

    crash = wait_until(crashes, 90, "a crash event")[0]
    web = world.admin.get(f"/v3/apps/{g}/processes/web").json()
    assert crash["actor"] == {"guid": web["guid"], "type": "process", "name": "web"}
    assert crash["target"] == {"guid": g, "type": "app", "name": app["name"]}
    data = crash["data"]
    assert data["index"] == 0 and data["reason"] == "CRASHED" and data["exit_status"] == 7
    assert isinstance(data["instance"], str) and isinstance(data["exit_description"], str)
    assert isinstance(data["crash_count"], int) and data["version"] == web["version"]
    app_crash = world.admin.get("/v3/audit_events", params={"target_guids": g, "types": "app.crash"}).json()
    assert app_crash["resources"][0]["actor"] == {"guid": g, "type": "app", "name": app["name"]}

    # The space's auditor sees it, newest first as `cf events` asks; an auditor elsewhere does not.
    space = world.admin.get(f"/v3/spaces/{app['relationships']['space']['data']['guid']}").json()
    org = {"guid": space["relationships"]["organization"]["data"]["guid"]}
    auditor = world.as_role("space_auditor", org, space)
    seen = auditor.get("/v3/audit_events", params={"target_guids": g, "order_by": "-created_at"}).json()
    assert crash["guid"] in {e["guid"] for e in seen["resources"]}
    other_org = world.org()
    outsider = world.as_role("space_auditor", other_org, world.space(other_org))
    assert outsider.get(f"/v3/audit_events/{crash['guid']}").status_code == 404
    assert world.admin.post(f"/v3/apps/{g}/actions/stop").status_code == 200
