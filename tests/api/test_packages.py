"""``/v3/packages``: create, upload, resource matching, copy, download, list, update, delete."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.archives import HOSTILE, make_zip, symlink_info
from tests.support.cf import Api, World
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP
from tests.support.server import run_server
from tests.support.waiting import wait_until

FINAL = {"READY", "FAILED", "EXPIRED"}


def wait_for_package(api: Api, guid: str, timeout: float = 60) -> dict[str, Any]:
    return api.wait_for(f"/v3/packages/{guid}", lambda package: package["state"] in FINAL, timeout)


def new_package(world: World, app: dict[str, Any], api: Api | None = None) -> dict[str, Any]:
    r = (api or world.admin).post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def upload(api: Api, guid: str, data: bytes | None, resources: list[dict[str, Any]] | None = None) -> Any:
    files = {"bits": ("package.zip", data, "application/zip")} if data is not None else None
    fields = {"resources": json.dumps(resources)} if resources is not None else None
    return api.post(f"/v3/packages/{guid}/upload", files=files, data=fields)


def test_create_bits_package(world: World) -> None:
    app = world.app()
    base = world.server.url
    package = new_package(world, app)
    g = package["guid"]
    assert package == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "type": "bits",
        "data": {"error": None, "checksum": {"type": "sha256", "value": None}},
        "state": "AWAITING_UPLOAD",
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/packages/{g}"},
            "upload": {"href": f"{base}/v3/packages/{g}/upload", "method": "POST"},
            "download": {"href": f"{base}/v3/packages/{g}/download"},
            "app": {"href": f"{base}/v3/apps/{app['guid']}"},
        },
    }
    r = world.admin.get(f"/v3/packages/{g}/download")
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Package has no bits to download.")


def test_create_validation(world: World) -> None:
    app = world.app()
    rel = {"app": {"data": {"guid": app["guid"]}}}
    cases = [
        ({"type": "rar", "relationships": rel}, "Type must be one of 'bits, docker'"),
        (
            {"type": "bits", "relationships": rel, "data": {"x": 1}},
            "Data Data must be empty if provided for bits packages",
        ),
        ({"type": "docker", "relationships": rel}, "Data Image must be a string, Data Image required"),
        ({"type": "docker", "relationships": rel, "data": {"image": "i", "x": 1}}, "Data Unknown field(s): 'x'"),
        (
            {"type": "bits", "relationships": {"app": {"data": {"guid": "nope"}}}},
            "App is invalid. Ensure it exists and you have access to it.",
        ),
        (
            {"type": "docker", "relationships": rel, "data": {"image": "x"}},
            "Cannot create Docker package for a buildpack app.",
        ),
        ({"type": "bits", "relationships": rel, "foo": 1}, "Unknown field(s): 'foo'"),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/packages", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["detail"] == detail, body


def test_docker_package_and_seed_form(flags_world: World) -> None:
    world = flags_world
    world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True})
    try:
        app = world.app(lifecycle={"type": "docker", "data": {}})
        rel = {"app": {"data": {"guid": app["guid"]}}}
        body = {
            "type": "docker",
            "relationships": rel,
            "data": {"image": "registry/image:latest", "username": "u", "password": "p"},
        }
        r = world.admin.post("/v3/packages", json=body)
        assert r.status_code == 201, r.text
        package = r.json()
        assert package["state"] == "READY"
        assert package["data"] == {"image": "registry/image:latest", "username": "u", "password": "***"}
        assert list(package["links"]) == ["self", "app"]
        r = world.admin.post("/v3/packages", json={"type": "bits", "relationships": rel})
        assert r.json()["errors"][0]["detail"] == "Cannot create bits package for a Docker app."
        up = upload(world.admin, package["guid"], make_zip({"a": "b"}))
        assert (up.status_code, up.json()["errors"][0]["detail"]) == (422, "Package type must be bits.")

        # The seed's 2015 request, sent as the seed shows it (JSON under a form content type).
        seed = world.admin.post(
            f"/v3/apps/{app['guid']}/packages",
            content=b'{\n  "type": "docker",\n  "url": "docker://cloudfoundry/runtime-ci"\n}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert seed.status_code == 201, seed.text
        assert seed.json()["state"] == "READY"
        assert seed.json()["type"] == "docker"
        assert seed.json()["data"] == {"image": "cloudfoundry/runtime-ci", "username": None, "password": None}
        bad = world.admin.post(f"/v3/apps/{app['guid']}/packages", json={"type": "docker"})
        assert bad.json()["errors"][0]["detail"] == "Url can not be blank when type is docker"
    finally:
        world.admin.patch("/v3/feature_flags/diego_docker", json={"enabled": False})
    bits_app = world.app()
    seed_bits = world.admin.post(f"/v3/apps/{bits_app['guid']}/packages", json={"type": "bits"})
    assert (seed_bits.status_code, seed_bits.json()["state"]) == (201, "AWAITING_UPLOAD")


def test_upload_download_roundtrip(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    dev = world.as_role("space_developer", org, space)
    app = world.app(space)
    package = new_package(world, app, dev)
    content = make_zip({"app.py": "print('hello')\n", "lib/util.py": "X = 1\n"}, dirs=("lib",))
    r = upload(dev, package["guid"], content)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "PROCESSING_UPLOAD"
    ready = wait_for_package(dev, package["guid"])
    assert ready["state"] == "READY", ready
    assert ready["data"] == {
        "error": None,
        "checksum": {"type": "sha256", "value": hashlib.sha256(content).hexdigest()},
    }
    download = dev.get(f"/v3/packages/{package['guid']}/download")
    assert download.status_code == 200
    assert download.content == content
    again = upload(dev, package["guid"], content)
    assert again.status_code == 400
    assert again.json()["errors"][0] == {
        "detail": "Bits may be uploaded only once. Create a new package to upload different bits.",
        "title": "CF-PackageBitsAlreadyUploaded",
        "code": 150004,
    }
    manager = world.as_role("space_manager", org, space)
    assert manager.get(f"/v3/packages/{package['guid']}/download").status_code == 403
    assert manager.get(f"/v3/packages/{package['guid']}").status_code == 200


def test_symlinks_are_dropped(world: World) -> None:
    app = world.app()
    package = new_package(world, app)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("app.py", "print(1)")
        zf.writestr(symlink_info("current"), "app.py")
    assert upload(world.admin, package["guid"], out.getvalue()).status_code == 200
    ready = wait_for_package(world.admin, package["guid"])
    assert ready["state"] == "READY", ready
    stored = world.admin.get(f"/v3/packages/{package['guid']}/download").content
    assert ready["data"]["checksum"]["value"] == hashlib.sha256(stored).hexdigest()
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:
        assert zf.namelist() == ["app.py"]
        assert zf.read("app.py") == b"print(1)"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archives_fail_cleanly(world: World, name: str, tmp_path: Path) -> None:
    build, expected = HOSTILE[name]
    app = world.app()
    package = new_package(world, app)
    data_dir = world.server.settings.data_dir
    before = {p for p in data_dir.rglob("*") if p.is_file()}
    r = upload(world.admin, package["guid"], build())
    assert r.status_code == 200, r.text
    failed = wait_for_package(world.admin, package["guid"])
    assert failed["state"] == "FAILED"
    assert failed["data"]["error"].startswith(expected), failed["data"]["error"]
    assert failed["data"]["checksum"] == {"type": "sha256", "value": None}
    # Nothing was extracted anywhere: no file appeared outside the database's own files.
    after = {p for p in data_dir.rglob("*") if p.is_file()}
    assert {p for p in after - before if "ladle.db" not in p.name} == set()
    assert not Path("/tmp/ladle-absolute-escape.txt").exists()
    assert not (data_dir.parent / "outside.txt").exists()
    assert not world.server.deps.blobstores.packages.exists(package["guid"])


def test_upload_validation(world: World) -> None:
    app = world.app()
    package = new_package(world, app)
    g = package["guid"]
    r = world.admin.post(f"/v3/packages/{g}/upload", files={"other": ("x", b"1")})
    assert r.status_code == 422
    assert r.json()["errors"][0]["detail"] == "Unknown field(s): 'other', Upload must include either resources or bits"
    r = world.admin.post(f"/v3/packages/{g}/upload", data={"resources": "[not json"})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Resources must be valid JSON.")
    r = world.admin.post(f"/v3/packages/{g}/upload", data={"resources": "[]"})
    assert r.json()["errors"][0]["detail"] == "Upload must include either resources or bits"
    r = world.admin.post("/v3/packages/nope/upload", files={"bits": ("p.zip", make_zip({"a": "b"}))})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (404, "Package not found")
    # Nothing was accepted: the package still waits for its bits.
    assert world.admin.get(f"/v3/packages/{g}").json()["state"] == "AWAITING_UPLOAD"
    assert world.api().post(f"/v3/packages/{g}/upload", files={"bits": ("p.zip", b"x")}).status_code == 401


def pooled_file(size: int = 100_000) -> bytes:
    return os.urandom(size)


def test_resource_matching_round_trip(world: World) -> None:
    app = world.app()
    big = pooled_file()
    sha1 = hashlib.sha1(big).hexdigest()
    resource = {"checksum": {"value": sha1}, "size_in_bytes": len(big), "path": "vendor/big.bin", "mode": "644"}
    assert world.admin.post("/v3/resource_matches", json={"resources": [resource]}).json() == {"resources": []}

    first = new_package(world, app)
    upload(world.admin, first["guid"], make_zip({"vendor/big.bin": big, "app.py": "x"}))
    assert wait_for_package(world.admin, first["guid"])["state"] == "READY"

    def pool_matches() -> Any:  # the pool is fed right after the package becomes READY
        matched = world.admin.post("/v3/resource_matches", json={"resources": [resource]})
        assert matched.status_code == 201
        return matched.json() if matched.json()["resources"] else None

    matched = wait_until(pool_matches, message="the resource pool never learned the file")
    assert matched == {"resources": [resource]}

    # A client now sends only what the pool lacks, plus the list of matched files (v3 form).
    second = new_package(world, app)
    r = upload(world.admin, second["guid"], make_zip({"app.py": "y"}), resources=[resource])
    assert r.status_code == 200
    assert wait_for_package(world.admin, second["guid"])["state"] == "READY"
    with zipfile.ZipFile(io.BytesIO(world.admin.get(f"/v3/packages/{second['guid']}/download").content)) as zf:
        assert sorted(zf.namelist()) == ["app.py", "vendor/big.bin"]
        assert zf.read("vendor/big.bin") == big
        assert zf.getinfo("vendor/big.bin").external_attr >> 16 == 0o100644

    # Resources only, in the v2 form, with no zip at all.
    third = new_package(world, app)
    v2 = [{"fn": "copy.bin", "sha1": sha1, "size": len(big), "mode": "0755"}]
    assert upload(world.admin, third["guid"], None, resources=v2).status_code == 200
    assert wait_for_package(world.admin, third["guid"])["state"] == "READY"
    with zipfile.ZipFile(io.BytesIO(world.admin.get(f"/v3/packages/{third['guid']}/download").content)) as zf:
        assert zf.namelist() == ["copy.bin"]

    # A pool entry whose bytes went bad is refused, and removed from the pool.
    pool = world.server.deps.blobstores.resources
    assert pool.exists(sha1)
    pool.put_stream(sha1, io.BytesIO(b"rotten" + big[6:]))
    fourth = new_package(world, app)
    upload(world.admin, fourth["guid"], None, resources=[resource])
    failed = wait_for_package(world.admin, fourth["guid"])
    assert failed["state"] == "FAILED"
    assert failed["data"]["error"] == (
        "One or more cached resources did not match the given checksum. "
        "They have been deleted; please retry package upload."
    )
    assert not pool.exists(sha1)


def test_bad_fingerprints_fail_the_package(world: World) -> None:
    app = world.app()
    cases = [
        (
            {"fn": "a", "sha1": "0" * 40, "size": 70000, "mode": "444"},
            "The resource file mode is invalid: File mode '444' is invalid. Minimum file mode is '0600'",
        ),
        (
            {"fn": "../x", "sha1": "0" * 40, "size": 70000, "mode": "644"},
            "The resource file path is invalid: File path '../x' is not safe.",
        ),
    ]
    for fingerprint, error in cases:
        package = new_package(world, app)
        upload(world.admin, package["guid"], None, resources=[fingerprint])
        failed = wait_for_package(world.admin, package["guid"])
        assert (failed["state"], failed["data"]["error"]) == ("FAILED", error)


def test_resource_match_validation(world: World) -> None:
    ok = {"checksum": {"value": "a" * 40}, "size_in_bytes": 1}
    cases = [
        ({"resources": "x"}, "Resources must be an array"),
        ({"resources": []}, "Resources must have at least 1 resource"),
        (
            {"resources": [{**ok, "checksum": "x"}]},
            "Resources array contains at least one resource with a non-object checksum",
        ),
        (
            {"resources": [{**ok, "checksum": {"value": 1}}]},
            "Resources array contains at least one resource with a non-string checksum value",
        ),
        (
            {"resources": [{**ok, "checksum": {"value": "x"}}]},
            "Resources array contains at least one resource with a non-SHA1 checksum value",
        ),
        (
            {"resources": [{**ok, "size_in_bytes": "1"}]},
            "Resources array contains at least one resource with a non-integer size_in_bytes",
        ),
        (
            {"resources": [{**ok, "size_in_bytes": -1}]},
            "Resources array contains at least one resource with a negative size_in_bytes",
        ),
        ({"resources": [{**ok, "mode": 644}]}, "Resources array contains at least one resource with a non-string mode"),
        (
            {"resources": [{**ok, "mode": "999"}]},
            "Resources array contains at least one resource with an incorrect mode",
        ),
        ({"resources": [ok] * 5001}, "Resources array can have at most 5000 resources"),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/resource_matches", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["detail"] == detail


def test_copy(world: World) -> None:
    space = world.space()
    source_app, dest_app = world.app(space), world.app(space)
    source = new_package(world, source_app)
    content = make_zip({"app.py": "copy me"})
    upload(world.admin, source["guid"], content)
    assert wait_for_package(world.admin, source["guid"])["state"] == "READY"
    r = world.admin.post(
        "/v3/packages",
        params={"source_guid": source["guid"]},
        json={"relationships": {"app": {"data": {"guid": dest_app["guid"]}}}},
    )
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["state"] == "COPYING"
    assert copy["relationships"]["app"]["data"]["guid"] == dest_app["guid"]
    job = world.admin.wait_for_job(r.headers["location"])
    assert job["state"] == "COMPLETE"
    copied = wait_for_package(world.admin, copy["guid"])
    assert copied["state"] == "READY"
    assert copied["data"]["checksum"] == {"type": "sha256", "value": hashlib.sha256(content).hexdigest()}
    assert world.admin.get(f"/v3/packages/{copy['guid']}/download").content == content
    same = world.admin.post(
        "/v3/packages",
        params={"source_guid": source["guid"]},
        json={"relationships": {"app": {"data": {"guid": source_app["guid"]}}}},
    )
    assert same.json()["errors"][0]["detail"] == "Source and destination app cannot be the same"
    missing = world.admin.post(
        "/v3/packages",
        params={"source_guid": "nope"},
        json={"relationships": {"app": {"data": {"guid": dest_app["guid"]}}}},
    )
    assert (
        missing.json()["errors"][0]["detail"]
        == "Source package is invalid. Ensure it exists and you have access to it."
    )


def test_list_filters_and_nested_list(world: World) -> None:
    org = world.org()
    space = world.space(org)
    app1, app2 = world.app(space), world.app(space)
    p1 = new_package(world, app1)
    p2 = new_package(world, app2)
    upload(world.admin, p2["guid"], make_zip({"a": "b"}))
    wait_for_package(world.admin, p2["guid"])

    def guids(path: str, **params: str) -> list[str]:
        r = world.admin.get(path, params=params)
        assert r.status_code == 200, r.text
        return [p["guid"] for p in r.json()["resources"]]

    assert guids("/v3/packages", space_guids=space["guid"]) == [p1["guid"], p2["guid"]]
    assert guids("/v3/packages", organization_guids=org["guid"], states="READY") == [p2["guid"]]
    assert guids("/v3/packages", app_guids=app1["guid"], types="bits") == [p1["guid"]]
    assert guids(f"/v3/apps/{app1['guid']}/packages") == [p1["guid"]]
    r = world.admin.get(f"/v3/apps/{app1['guid']}/packages", params={"space_guids": "x"})
    assert r.status_code == 400
    assert (
        r.json()["errors"][0]["detail"] == "The query parameter is invalid: Unknown query parameter(s): 'space_guids'"
    )
    r = world.admin.get("/v3/packages", params={"current": "true"})
    assert r.json()["errors"][0]["detail"].startswith(
        "The query parameter is invalid: Unknown query parameter(s): 'current'"
    )


def test_update_and_delete(world: World) -> None:
    app = world.app()
    package = new_package(world, app)
    r = world.admin.patch(f"/v3/packages/{package['guid']}", json={"metadata": {"labels": {"a": "b"}}})
    assert r.status_code == 200 and r.json()["metadata"]["labels"] == {"a": "b"}
    r = world.admin.patch(f"/v3/packages/{package['guid']}", json={"username": "u"})
    assert r.json()["errors"][0]["detail"] == "Cannot update Docker credentials for a buildpack app."
    upload(world.admin, package["guid"], make_zip({"a": "b"}))
    wait_for_package(world.admin, package["guid"])
    store = world.server.deps.blobstores.packages
    assert store.exists(package["guid"])
    r = world.admin.delete(f"/v3/packages/{package['guid']}")
    assert r.status_code == 202
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"], list(job["links"])) == ("package.delete", "COMPLETE", ["self"])
    assert world.admin.get(f"/v3/packages/{package['guid']}").status_code == 404
    assert not store.exists(package["guid"])


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # One MiB packages, so limits can be crossed without gigabytes of test data.
    with run_server("sqlite", tmp_path_factory.mktemp("small"), "unused", max_package_size=1024 * 1024) as running:
        yield World(running)


def test_package_size_limit(small_world: World) -> None:
    world = small_world
    package = new_package(world, world.app())
    assert upload(world.admin, package["guid"], make_zip({"big.bin": os.urandom(2 * 1024 * 1024)})).status_code == 200
    failed = wait_for_package(world.admin, package["guid"])
    assert (failed["state"], failed["data"]["error"]) == (
        "FAILED",
        "The app package is invalid: Package may not be larger than 1048576 bytes",
    )


def test_oversized_upload_body_is_refused(small_world: World) -> None:
    world = small_world
    package = new_package(world, world.app())
    limit = world.server.settings.max_upload_size
    r = upload(world.admin, package["guid"], os.urandom(limit + 1024))
    assert r.status_code == 413
    assert r.json()["errors"][0] == {
        "detail": f"The app package is invalid: Uploads may not be larger than {limit} bytes",
        "title": "CF-PackageUploadTooLarge",
        "code": 150001,
    }
    assert world.admin.get(f"/v3/packages/{package['guid']}").json()["state"] == "AWAITING_UPLOAD"
    assert [p for p in (world.server.settings.scratch_dir / "uploads").glob("*") if p.is_file()] == []


def test_app_delete_removes_package_blobs(world: World) -> None:
    app = world.app()
    package = new_package(world, app)
    upload(world.admin, package["guid"], make_zip({"a.py": "1"}))
    assert wait_for_package(world.admin, package["guid"])["state"] == "READY"
    store = world.server.deps.blobstores.packages
    assert store.exists(package["guid"])
    location = world.admin.delete(f"/v3/apps/{app['guid']}").headers["location"]
    assert world.admin.wait_for_job(location)["state"] == "COMPLETE"
    assert world.admin.get(f"/v3/packages/{package['guid']}").status_code == 404
    assert not store.exists(package["guid"])
