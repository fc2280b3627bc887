"""Admin buildpacks and stacks over HTTP: validation, positions, uploads, locking, deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.staging.helpers import admin_buildpack, ready_package
from tests.support.archives import make_zip
from tests.support.buildpacks import write_buildpack, zip_directory
from tests.support.cf import Api, World, unique

DETECT = {"detect": "echo ok\n", "compile": "true\n"}


def _new_stack(world: World) -> str:
    name = unique("stack")
    r = world.admin.post("/v3/stacks", json={"name": name, "description": "for one test"})
    assert r.status_code == 201, r.text
    return name


def _create(world: World, **body: Any) -> dict[str, Any]:
    r = world.admin.post("/v3/buildpacks", json={"name": unique("bp").replace("-", "_"), **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _positions(api: Api, *guids: str) -> list[int]:
    return [api.get(f"/v3/buildpacks/{g}").json()["position"] for g in guids]


def _upload(world: World, guid: str, data: bytes, filename: str = "bp.zip") -> dict[str, Any]:
    r = world.admin.post(f"/v3/buildpacks/{guid}/upload", files={"bits": (filename, data, "application/zip")})
    assert r.status_code == 202, r.text
    return world.admin.wait_for_job(r.headers["location"])


def test_create_validation_and_permissions(world: World) -> None:
    cases = [
        ({}, "Name can't be blank"),
        ({"name": "has space"}, "Name is invalid"),
        ({"name": 5}, "Name must be a string"),
        ({"name": "x", "position": 0}, "Position must be greater than or equal to 1"),
        ({"name": "x", "position": 1.5}, "Position must be an integer"),
        ({"name": "x", "enabled": "yes"}, "Enabled must be a boolean"),
        ({"name": "x", "lifecycle": "docker"}, 'Lifecycle must be either "buildpack" or "cnb"'),
        ({"name": "x", "colour": "blue"}, "Unknown field(s): 'colour'"),
        ({"name": "x", "stack": "no-such-stack"}, "Stack 'no-such-stack' does not exist"),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/buildpacks", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["detail"] == detail, body

    _guid, username = world.new_user()
    reader = world.login_as(username)
    r = reader.post("/v3/buildpacks", json={"name": "mine"})
    assert r.status_code == 403 and r.json()["errors"][0]["title"] == "CF-NotAuthorized"
    created = _create(world)
    assert reader.get(f"/v3/buildpacks/{created['guid']}").status_code == 200
    assert reader.patch(f"/v3/buildpacks/{created['guid']}", json={"enabled": False}).status_code == 403
    assert reader.delete(f"/v3/buildpacks/{created['guid']}").status_code == 403
    missing = reader.patch("/v3/buildpacks/nope", json={"enabled": False})
    assert (missing.status_code, missing.json()["errors"][0]["detail"]) == (404, "Buildpack not found")


def test_presentation_and_duplicates(world: World) -> None:
    stack = _new_stack(world)
    bp = _create(world, stack=stack, enabled=False, locked=True, position=1)
    assert {k: bp[k] for k in ("stack", "state", "filename", "position", "lifecycle", "enabled", "locked")} == {
        "stack": stack,
        "state": "AWAITING_UPLOAD",
        "filename": None,
        "position": 1,
        "lifecycle": "buildpack",
        "enabled": False,
        "locked": True,
    }
    assert bp["links"]["upload"] == {"href": f"{world.server.url}/v3/buildpacks/{bp['guid']}/upload", "method": "POST"}
    again = world.admin.post("/v3/buildpacks", json={"name": bp["name"], "stack": stack})
    assert again.status_code == 422
    assert again.json()["errors"][0]["detail"] == (
        f"Buildpack with name '{bp['name']}', stack '{stack}' and lifecycle 'buildpack' already exists"
    )
    stackless = _create(world)
    twin = world.admin.post("/v3/buildpacks", json={"name": stackless["name"]})
    assert twin.json()["errors"][0]["detail"] == (
        f"Buildpack with name '{stackless['name']}' and an unassigned stack already exists"
    )
    # A stackless buildpack may be given a stack once; a set stack cannot change.
    other = _new_stack(world)
    assert world.admin.patch(f"/v3/buildpacks/{stackless['guid']}", json={"stack": other}).json()["stack"] == other
    r = world.admin.patch(f"/v3/buildpacks/{stackless['guid']}", json={"stack": stack})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Buildpack stack cannot be changed")
    r = world.admin.patch(f"/v3/buildpacks/{bp['guid']}", json={"position": None})
    assert r.json()["errors"][0]["detail"] == "Position is not a number"
    r = world.admin.patch(f"/v3/buildpacks/{bp['guid']}", json={"lifecycle": "cnb"})
    assert r.json()["errors"][0]["detail"] == "Unknown field(s): 'lifecycle'"


def test_positions_shift_on_create_move_and_delete(world: World) -> None:
    # Newest first: each create at the default position 1 pushes the others down.
    c = _create(world)
    b = _create(world)
    a = _create(world)
    pa, pb, pc = _positions(world.admin, a["guid"], b["guid"], c["guid"])
    assert (pa, pb - pa, pc - pb) == (1, 1, 1)
    total = world.admin.get("/v3/buildpacks", params={"lifecycle": "buildpack"}).json()["pagination"]["total_results"]
    last = _create(world, position=10_000)
    assert last["position"] == total + 1

    # Insert in the middle.
    middle = _create(world, position=2)
    assert _positions(world.admin, a["guid"], middle["guid"], b["guid"], c["guid"]) == [1, 2, 3, 4]
    # Move a down past b: those in between move up by one.
    moved = world.admin.patch(f"/v3/buildpacks/{a['guid']}", json={"position": 3})
    assert moved.status_code == 200 and moved.json()["position"] == 3
    assert _positions(world.admin, middle["guid"], b["guid"], a["guid"], c["guid"]) == [1, 2, 3, 4]
    ordered = world.admin.get("/v3/buildpacks", params={"order_by": "position", "per_page": 5}).json()["resources"]
    assert [x["guid"] for x in ordered[:4]] == [middle["guid"], b["guid"], a["guid"], c["guid"]]

    r = world.admin.delete(f"/v3/buildpacks/{b['guid']}")
    assert r.status_code == 202 and r.content == b""
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"]) == ("buildpack.delete", "COMPLETE")
    assert world.admin.get(f"/v3/buildpacks/{b['guid']}").status_code == 404
    assert _positions(world.admin, middle["guid"], a["guid"], c["guid"]) == [1, 2, 3]
    positions = [
        x["position"] for x in world.admin.get("/v3/buildpacks", params={"per_page": 5000}).json()["resources"]
    ]
    assert positions == list(range(1, len(positions) + 1))


def test_list_filters(world: World) -> None:
    stack = _new_stack(world)
    mine = _create(world, stack=stack)
    _create(world)
    listed = world.admin.get("/v3/buildpacks", params={"stacks": stack}).json()
    assert [b["guid"] for b in listed["resources"]] == [mine["guid"]]
    named = world.admin.get("/v3/buildpacks", params={"names": f"{mine['name']},nothing"}).json()["resources"]
    assert [b["guid"] for b in named] == [mine["guid"]]
    bad = world.admin.get("/v3/buildpacks", params={"lifecycle": "docker"})
    assert (bad.status_code, bad.json()["errors"][0]["detail"]) == (
        400,
        'The query parameter is invalid: Lifecycle must be either "buildpack" or "cnb"',
    )
    bad = world.admin.get("/v3/buildpacks", params={"order_by": "name"})
    assert bad.json()["errors"][0]["detail"] == (
        "The query parameter is invalid: Order by can only be: 'created_at', 'updated_at', 'position', 'lifecycle'"
    )


def test_upload_states_manifest_stack_and_blob_replacement(world: World, tmp_path: Path) -> None:
    stack = _new_stack(world)
    bp = _create(world)
    source = write_buildpack(tmp_path / "one", DETECT, {"manifest.yml": f"language: one\nstack: {stack}\n"})
    r = world.admin.post(
        f"/v3/buildpacks/{bp['guid']}/upload", files={"bits": ("one.zip", zip_directory(source), "application/zip")}
    )
    # The answer describes the buildpack as it is when the job is queued.
    assert r.status_code == 202 and r.json()["state"] == "AWAITING_UPLOAD"
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"]) == ("buildpack.upload", "COMPLETE")
    assert job["links"]["buildpack"]["href"].endswith(f"/v3/buildpacks/{bp['guid']}")
    ready = world.admin.get(f"/v3/buildpacks/{bp['guid']}").json()
    assert (ready["state"], ready["filename"], ready["stack"]) == ("READY", "one.zip", stack)
    blobs = world.server.settings.blobstore_root / "buildpacks"
    first = [p for p in blobs.rglob(f"{bp['guid']}_*") if p.is_file()]
    assert len(first) == 1

    # A second upload replaces the blob; the manifest stack still has to match.
    source2 = write_buildpack(tmp_path / "two", {**DETECT, "release": "echo ---\n"})
    assert _upload(world, bp["guid"], zip_directory(source2), "two.zip")["state"] == "COMPLETE"
    second = [p for p in blobs.rglob(f"{bp['guid']}_*") if p.is_file()]
    assert len(second) == 1 and second != first
    assert world.admin.get(f"/v3/buildpacks/{bp['guid']}").json()["filename"] == "two.zip"

    other = _new_stack(world)
    source3 = write_buildpack(tmp_path / "three", DETECT, {"manifest.yml": f"stack: {other}\n"})
    failed = _upload(world, bp["guid"], zip_directory(source3), "three.zip")
    assert failed["state"] == "FAILED"
    assert failed["errors"][0]["detail"] == f"Uploaded buildpack stack ({other}) does not match {stack}"
    assert failed["errors"][0]["code"] == 390011
    after = world.admin.get(f"/v3/buildpacks/{bp['guid']}").json()
    assert (after["filename"], after["stack"]) == ("two.zip", stack)
    assert [p for p in blobs.rglob(f"{bp['guid']}_*") if p.is_file()] == second

    # Deleting removes the blob too.
    r = world.admin.delete(f"/v3/buildpacks/{bp['guid']}")
    assert world.admin.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    assert not [p for p in blobs.rglob(f"{bp['guid']}_*") if p.is_file()]


def test_upload_errors(world: World, tmp_path: Path) -> None:
    bp = _create(world)
    url = f"/v3/buildpacks/{bp['guid']}/upload"
    r = world.admin.post(url, files={"bits": ("notes.txt", b"just text", "text/plain")})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        422,
        "Uploaded buildpack file is invalid: notes.txt is not a zip or gzip archive",
    )
    r = world.admin.post(url, files={"other": ("bp.zip", make_zip({"bin/detect": "x"}), "application/zip")})
    assert r.json()["errors"][0]["detail"] == (
        "Uploaded buildpack file is invalid: Unknown field(s): 'other', A buildpack zip file must be uploaded as 'bits'"
    )
    # Zip magic but nothing valid behind it: the job fails, the buildpack stays as it was.
    job = _upload(world, bp["guid"], b"PK\x03\x04" + b"\x00" * 64, "broken.zip")
    assert job["state"] == "FAILED"
    assert job["errors"][0]["detail"] == "Buildpack zip error: buildpack zipfile is not valid"
    job = _upload(world, bp["guid"], make_zip({"manifest.yml": "stack: [unclosed\n", "bin/detect": "x"}))
    assert job["errors"][0]["detail"] == "Buildpack zip error: buildpack manifest is not valid"
    assert world.admin.get(f"/v3/buildpacks/{bp['guid']}").json()["state"] == "AWAITING_UPLOAD"

    locked = admin_buildpack(world, tmp_path, DETECT)
    world.admin.patch(f"/v3/buildpacks/{locked['guid']}", json={"locked": True})
    r = world.admin.post(
        f"/v3/buildpacks/{locked['guid']}/upload", files={"bits": ("x.zip", make_zip({"bin/detect": "x"}))}
    )
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Buildpack is locked")
    assert world.admin.get(f"/v3/buildpacks/{locked['guid']}").json()["filename"] == locked["filename"]


def test_disabled_buildpack_is_skipped_by_detect_and_refused_by_name(world: World, tmp_path: Path) -> None:
    stack = _new_stack(world)
    off = admin_buildpack(world, tmp_path, DETECT, stack=stack, position=1, enabled=False)
    app = world.app(lifecycle={"type": "buildpack", "data": {"buildpacks": [off["name"]], "stack": stack}})
    package = ready_package(world, app, {"a": "b"})
    r = world.admin.post("/v3/builds", json={"package": {"guid": package}})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        400,
        f"Buildpack is invalid: Requested buildpack(s) '{off['name']}' are disabled and cannot be used for staging",
    )


def test_stacks(world: World) -> None:
    stacks = world.admin.get("/v3/stacks", params={"default": "true"}).json()["resources"]
    assert [s["name"] for s in stacks] == ["cflinuxfs4"] and stacks[0]["default"] is True
    name = unique("stack")
    created = world.admin.post(
        "/v3/stacks", json={"name": name, "description": "tiny", "metadata": {"labels": {"a": "b"}}}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["description"], body["default"], body["metadata"]["labels"]) == (
        name,
        "tiny",
        False,
        {"a": "b"},
    )
    assert body["links"] == {"self": {"href": f"{world.server.url}/v3/stacks/{body['guid']}"}}
    taken = world.admin.post("/v3/stacks", json={"name": name})
    assert (taken.status_code, taken.json()["errors"][0]["detail"]) == (422, "Name must be unique")
    assert world.admin.post("/v3/stacks", json={}).json()["errors"][0]["detail"] == "Name can't be blank"
    found = world.admin.get("/v3/stacks", params={"names": name}).json()["resources"]
    assert [s["guid"] for s in found] == [body["guid"]]
    patched = world.admin.patch(f"/v3/stacks/{body['guid']}", json={"metadata": {"annotations": {"note": "x"}}})
    assert patched.json()["metadata"] == {"labels": {"a": "b"}, "annotations": {"note": "x"}}

    _guid, username = world.new_user()
    reader = world.login_as(username)
    assert reader.get(f"/v3/stacks/{body['guid']}").status_code == 200
    assert reader.post("/v3/stacks", json={"name": unique("s")}).status_code == 403

    app = world.app(lifecycle={"type": "buildpack", "data": {"stack": name}})
    apps = world.admin.get(f"/v3/stacks/{body['guid']}/apps").json()["resources"]
    assert [a["guid"] for a in apps] == [app["guid"]]
    busy = world.admin.delete(f"/v3/stacks/{body['guid']}")
    assert (busy.status_code, busy.json()["errors"][0]["detail"]) == (
        422,
        f"Cannot delete stack '{name}' because apps are currently using the stack.",
    )
    gone = world.admin.delete(f"/v3/apps/{app['guid']}")
    assert world.admin.wait_for_job(gone.headers["location"])["state"] == "COMPLETE"
    assert world.admin.delete(f"/v3/stacks/{body['guid']}").status_code == 204
    assert world.admin.get(f"/v3/stacks/{body['guid']}").status_code == 404
