"""Old packages and droplets expire after stagings; no blob outlives its row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ladle.actions.recovery import sweep_orphan_blobs
from tests.staging.helpers import ready_package, stage
from tests.support.buildpacks import git_repository, write_buildpack
from tests.support.cf import World
from tests.support.server import DATABASES, run_server
from tests.support.waiting import wait_until

RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'


@pytest.fixture(scope="module", params=DATABASES)
def keep_two(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    overrides = {"max_retained_packages": 2, "max_retained_droplets": 2}
    data_dir = tmp_path_factory.mktemp(f"retention-{request.param}")
    db_name = f"ladle_test_retention_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with run_server(request.param, data_dir, db_name, **overrides) as running:
        yield World(running)


def _blobs(world: World, bucket: str) -> set[str]:
    return {e.key for e in getattr(world.server.deps.blobstores, bucket).entries()}


def test_stagings_expire_all_but_the_newest(keep_two: World, tmp_path: Path) -> None:
    world = keep_two
    buildpack = git_repository(write_buildpack(tmp_path / "bp", {"compile": "true\n", "release": RELEASE}))
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [buildpack]}}
    app = world.app()
    packages, droplets = [], []
    for round_ in range(5):
        package = ready_package(world, app, {"run": f"round {round_}\n"})
        build = stage(world, package, lifecycle=lifecycle)
        assert build["state"] == "STAGED", build["error"]
        packages.append(package)
        droplets.append(build["droplet"]["guid"])
        if round_ == 0:
            # Nothing expires before the app has a current droplet; this one stays current.
            r = world.admin.patch(
                f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplets[0]}}
            )
            assert r.status_code == 200, r.text

    def states(kind: str, guids: list[str]) -> list[str]:
        return [world.admin.get(f"/v3/{kind}/{g}").json()["state"] for g in guids]

    # The current droplet and its package stay; of the others the newest two.
    assert states("droplets", droplets) == ["STAGED", "EXPIRED", "EXPIRED", "STAGED", "STAGED"]
    assert states("packages", packages) == ["READY", "EXPIRED", "EXPIRED", "READY", "READY"]
    expired_droplets, expired_packages = set(droplets[1:3]), set(packages[1:3])
    wait_until(lambda: not (_blobs(world, "droplets") & expired_droplets))
    wait_until(lambda: not (_blobs(world, "packages") & expired_packages))
    assert set(droplets) - expired_droplets <= _blobs(world, "droplets")
    assert set(packages) - expired_packages <= _blobs(world, "packages")
    wait_until(lambda: world.admin.get(f"/v3/droplets/{droplets[1]}").json()["checksum"] is None)
    gone = world.admin.get(f"/v3/droplets/{droplets[1]}/download")
    assert (gone.status_code, gone.json()["errors"][0]["detail"]) == (422, "Only staged droplets can be downloaded.")
    r = world.admin.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplets[1]}})
    assert r.json()["errors"][0]["detail"] == "droplet must be in staged state"
    # Expired rows still list (only STAGING droplets are hidden).
    listed = {d["guid"] for d in world.admin.get(f"/v3/apps/{app['guid']}/droplets").json()["resources"]}
    assert listed == set(droplets)


def test_orphan_sweep_removes_blobs_without_a_live_row(keep_two: World, tmp_path: Path) -> None:
    world = keep_two
    stores = world.server.deps.blobstores
    app = world.app()
    package = ready_package(world, app, {"run": "x"})
    stray = tmp_path / "stray"
    stray.write_bytes(b"nobody owns this")
    for store, key in (
        (stores.droplets, "droplet-without-row"),
        (stores.packages, "package-without-row"),
        (stores.buildpacks, "buildpack-without-row"),
        (stores.buildpack_cache, "deleted-app-guid/cflinuxfs4"),
        (stores.buildpack_cache, f"{app['guid']}/cflinuxfs4"),
    ):
        store.put_file(key, stray)
    removed = sweep_orphan_blobs(world.server.deps.db, stores, grace=timedelta(0))
    assert removed >= 4
    assert "droplet-without-row" not in _blobs(world, "droplets")
    assert "package-without-row" not in _blobs(world, "packages")
    assert "buildpack-without-row" not in _blobs(world, "buildpacks")
    cache = _blobs(world, "buildpack_cache")
    assert "deleted-app-guid/cflinuxfs4" not in cache and f"{app['guid']}/cflinuxfs4" in cache
    assert package in _blobs(world, "packages")
