"""What staging records: the build and droplet audit events, and BUILDPACK_SET for billing."""

from __future__ import annotations

from pathlib import Path

from tests.staging.helpers import admin_buildpack, ready_package, stage
from tests.support.cf import World

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'


def test_staging_records_build_droplet_and_buildpack_set(world: World, tmp_path: Path) -> None:
    bp = admin_buildpack(world, tmp_path, {"compile": "true\n", "release": RELEASE})
    app = world.app(world.space())
    g = app["guid"]
    package = ready_package(world, app, {"run": "#!/bin/sh\n"})
    build = stage(world, package, lifecycle={"type": "buildpack", "data": {"buildpacks": [bp["name"]]}})
    assert build["state"] == "STAGED", build
    events = world.admin.get("/v3/audit_events", params={"target_guids": g, "per_page": "100"}).json()["resources"]
    by_type = {e["type"]: e for e in events}
    for expected in ("audit.app.package.create", "audit.app.package.upload", "audit.app.build.create"):
        assert expected in by_type, (expected, list(by_type))
    assert by_type["audit.app.package.upload"]["data"] == {"package_guid": package}
    assert by_type["audit.app.build.create"]["data"] == {"build_guid": build["guid"], "package_guid": package}
    assert by_type["audit.app.droplet.create"]["data"] == {
        "droplet_guid": build["droplet"]["guid"],
        "package_guid": package,
    }
    usage = world.admin.get("/v3/app_usage_events", params={"per_page": "5000"}).json()["resources"]
    set_events = [e for e in usage if e["app"]["guid"] == g and e["state"]["current"] == "BUILDPACK_SET"]
    assert len(set_events) == 1
    assert set_events[0]["buildpack"]["name"] == bp["name"]
    assert set_events[0]["state"]["previous"] is None
