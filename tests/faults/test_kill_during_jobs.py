"""SIGKILL ``ladle serve`` while a droplet upload, a package copy and an app delete are all being
processed; start it again: every job ends, no resource points at a missing or partial blob, and
nothing stays PROCESSING_UPLOAD, COPYING or PROCESSING."""

from __future__ import annotations

import io
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.cli.test_crash_recovery import Server, make_package
from tests.faults.invariants import assert_settled, wait_settled
from tests.processes.helpers import staged_droplet
from tests.support.archives import make_zip


def _ok(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _big_droplet() -> bytes:
    """A droplet whose check and store take a while: incompressible bytes in a gzipped tar."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        for name, data in (
            ("./app/server.sh", b"#!/bin/sh\nexec sleep 600\n"),
            ("./app/big.bin", os.urandom(32 << 20)),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_kill_during_droplet_upload_copy_and_delete(tmp_path: Path, database: str) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, database, runner="none", router_enabled="false")
    app_guid, package_guid = make_package(server)
    # A package to copy, large enough that the copy is still running at the kill.
    payload = make_zip({f"f{i}.bin": os.urandom(8 << 20) for i in range(2)})
    _ok(server.call("POST", f"/v3/packages/{package_guid}/upload", files={"bits": ("p.zip", payload)}), 200)
    server.api.wait_for(f"/v3/packages/{package_guid}", lambda p: p["state"] == "READY")
    # An app to delete, holding a droplet with a blob, and one to copy the package to.
    doomed = _new_app(server, app_guid, "doomed")
    target = _new_app(server, app_guid, "target")
    doomed_droplet = staged_droplet(server.api, doomed)
    droplet = _ok(
        server.call("POST", "/v3/droplets", json={"relationships": {"app": {"data": {"guid": app_guid}}}}), 201
    )

    bits = _big_droplet()
    # All three at once, and the kill as soon as all three are accepted: their jobs are running.
    with ThreadPoolExecutor(3) as pool:
        upload_f = pool.submit(
            server.call, "POST", f"/v3/droplets/{droplet['guid']}/upload", files={"bits": ("d.tgz", bits)}
        )
        copy_f = pool.submit(
            server.call,
            "POST",
            f"/v3/packages?source_guid={package_guid}",
            json={"relationships": {"app": {"data": {"guid": target["guid"]}}}},
        )
        delete_f = pool.submit(server.call, "DELETE", f"/v3/apps/{doomed['guid']}")
        upload, copy, delete = upload_f.result(), _ok(copy_f.result(), 201), delete_f.result()
    server.kill()
    assert upload.status_code == 202, upload.text
    assert delete.status_code == 202, delete.text

    restarted = Server(data_dir, database, runner="none", router_enabled="false")
    try:
        wait_settled(database)
        assert_settled(data_dir, database)
        uploaded = restarted.call("GET", f"/v3/droplets/{droplet['guid']}").json()
        assert uploaded["state"] in {"STAGED", "FAILED"}, uploaded
        copied = restarted.call("GET", f"/v3/packages/{copy['guid']}").json()
        assert copied["state"] in {"READY", "FAILED"}, copied
        if copied["state"] == "READY":
            source = restarted.call("GET", f"/v3/packages/{package_guid}").json()
            assert copied["data"]["checksum"] == source["data"]["checksum"]
        job = restarted.api.wait_for_job(delete.headers["location"].removeprefix(server.url), timeout=60)
        assert job["state"] == "COMPLETE", job
        assert restarted.call("GET", f"/v3/apps/{doomed['guid']}").status_code == 404
        assert restarted.call("GET", f"/v3/droplets/{doomed_droplet}").status_code == 404
        # Everything still works: the droplet that failed (if it did) is replaced by a new upload.
        again = _ok(
            restarted.call("POST", "/v3/droplets", json={"relationships": {"app": {"data": {"guid": app_guid}}}}), 201
        )
        r = restarted.call("POST", f"/v3/droplets/{again['guid']}/upload", files={"bits": ("d.tgz", bits)})
        assert r.status_code == 202
        wait_settled(database)
        assert restarted.call("GET", f"/v3/droplets/{again['guid']}").json()["state"] == "STAGED"
        assert_settled(data_dir, database)
    finally:
        restarted.stop()


def _new_app(server: Server, beside: str, name: str) -> dict[str, Any]:
    """A new app in the space of the app ``beside``."""
    space = server.call("GET", f"/v3/apps/{beside}").json()["relationships"]["space"]
    return _ok(server.call("POST", "/v3/apps", json={"name": name, "relationships": {"space": space}}), 201)
