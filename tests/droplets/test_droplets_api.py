"""``/v3/droplets``: create, upload (seed 002), get (seed 003), copy, update, delete, lists."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.staging.helpers import ready_package
from tests.support.cf import Api, World
from tests.support.matchers import ANY_GUID, ANY_TIMESTAMP
from tests.support.rows import staging_build
from tests.support.server import run_server

FINAL = {"STAGED", "FAILED", "EXPIRED"}


def make_tgz(files: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return out.getvalue()


def droplet_tgz() -> bytes:
    return make_tgz(
        {
            "./app/server.sh": b"#!/bin/sh\nexec python3 -m http.server $PORT\n",
            "./staging_info.yml": b'{"detected_buildpack":"","start_command":"./server.sh"}',
        }
    )


def new_droplet(api: Api, app: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = api.post("/v3/droplets", json={"relationships": {"app": {"data": {"guid": app["guid"]}}}, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def upload(api: Api, guid: str, data: bytes, name: str = "droplet.tgz") -> httpx.Response:
    return api.post(f"/v3/droplets/{guid}/upload", files={"bits": (name, data, "application/gzip")})


def wait_for_droplet(api: Api, guid: str, timeout: float = 60) -> dict[str, Any]:
    return api.wait_for(f"/v3/droplets/{guid}", lambda droplet: droplet["state"] in FINAL, timeout)


def staged_droplet(world: World, app: dict[str, Any], data: bytes | None = None, **body: Any) -> dict[str, Any]:
    droplet = new_droplet(world.admin, app, **body)
    r = upload(world.admin, droplet["guid"], data or droplet_tgz())
    assert r.status_code == 202, r.text
    assert world.admin.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    return wait_for_droplet(world.admin, droplet["guid"])


def stored_droplets(world: World) -> set[str]:
    return {e.key for e in world.server.deps.blobstores.droplets.entries()}


def test_create_validation(world: World) -> None:
    app = world.app()
    relationships = {"app": {"data": {"guid": app["guid"]}}}
    cases = [
        ({"relationships": relationships, "process_types": 867}, "Process types must be an object"),
        (
            {"relationships": relationships, "process_types": {"": "x", "web": 5}},
            "Process types key must not be empty, Process types value must be a string",
        ),
        ({"relationships": relationships, "colour": 1}, "Unknown field(s): 'colour'"),
        ({}, "Relationships 'relationships' is not an object"),
    ]
    for body, detail in cases:
        r = world.admin.post("/v3/droplets", json=body)
        assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, detail), body
    r = world.admin.post("/v3/droplets", json={"relationships": {"app": {"data": {"guid": "nope"}}}})
    assert r.json()["errors"][0]["detail"] == 'App with guid "nope" does not exist, or you do not have access to it.'


def test_docker_apps_take_no_droplets(flags_world: World) -> None:
    docker_app = flags_world.docker_app()
    r = flags_world.admin.post("/v3/droplets", json={"relationships": {"app": {"data": {"guid": docker_app["guid"]}}}})
    assert r.json()["errors"][0]["detail"] == "Droplet creation is not available for apps with docker lifecycles."


def test_seed_upload_and_get_flow(world: World) -> None:
    app = world.app()
    base = world.server.url
    droplet = new_droplet(world.admin, app, process_types={"web": "./server.sh", "worker": "./work.sh"})
    g = droplet["guid"]
    assert droplet == {
        "guid": ANY_GUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "state": "AWAITING_UPLOAD",
        "error": None,
        "lifecycle": {"type": "buildpack", "data": {}},
        "checksum": None,
        "buildpacks": [],
        "stack": None,
        "image": None,
        "execution_metadata": "",
        "process_types": {"web": "./server.sh", "worker": "./work.sh"},
        "relationships": {"app": {"data": {"guid": app["guid"]}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {
            "self": {"href": f"{base}/v3/droplets/{g}"},
            "app": {"href": f"{base}/v3/apps/{app['guid']}"},
            "assign_current_droplet": {
                "href": f"{base}/v3/apps/{app['guid']}/relationships/current_droplet",
                "method": "PATCH",
            },
            "upload": {"href": f"{base}/v3/droplets/{g}/upload", "method": "POST"},
        },
    }
    data = droplet_tgz()
    r = upload(world.admin, g, data)
    assert r.status_code == 202, r.text
    job_url = r.headers["location"]
    assert job_url.startswith(f"{base}/v3/jobs/")
    accepted = r.json()
    assert accepted["state"] == "PROCESSING_UPLOAD" and "upload" not in accepted["links"]
    job = world.admin.wait_for_job(job_url)
    assert (job["operation"], job["state"], job["errors"]) == ("droplet.upload", "COMPLETE", [])
    assert job["links"]["droplet"]["href"] == f"{base}/v3/droplets/{g}"

    # Seed 003: get the droplet.
    got = world.admin.get(f"/v3/droplets/{g}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    body = got.json()
    assert body["state"] == "STAGED"
    assert body["checksum"] == {"type": "sha256", "value": hashlib.sha256(data).hexdigest()}
    assert body["links"]["download"] == {"href": f"{base}/v3/droplets/{g}/download"}
    downloaded = world.admin.get(f"/v3/droplets/{g}/download")
    assert downloaded.status_code == 200 and downloaded.content == data
    assert hashlib.sha256(downloaded.content).hexdigest() == body["checksum"]["value"]

    missing = world.admin.get("/v3/droplets/no-such-droplet")
    assert (missing.status_code, missing.json()["errors"][0]["title"]) == (404, "CF-ResourceNotFound")
    assert httpx.get(f"{base}/v3/droplets/{g}").status_code == 401

    again = upload(world.admin, g, data)
    assert (again.status_code, again.json()["errors"][0]["detail"]) == (
        422,
        "Droplet may be uploaded only once. Create a new droplet to upload bits.",
    )


def test_upload_errors_and_envelopes(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    app = world.app(space)
    g = new_droplet(world.admin, app)["guid"]
    url = f"/v3/droplets/{g}/upload"
    cases = [
        ({"bits": ("droplet.zip", b"PK\x03\x04", "application/zip")}, "droplet.zip is not a tgz"),
        ({"bits": ("empty.tgz", b"", "application/gzip")}, "empty.tgz cannot be empty"),
        (
            {"other": ("d.tgz", droplet_tgz())},
            "Unknown field(s): 'other', A droplet tgz file must be uploaded as 'bits'",
        ),
    ]
    for files, detail in cases:
        r = world.admin.post(url, files=files)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"code": 10008, "title": "CF-UnprocessableEntity", "detail": f"Uploaded droplet file is invalid: {detail}"}
        ]
    unauthenticated = httpx.post(f"{world.server.url}{url}", files={"bits": ("d.tgz", droplet_tgz())})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["title"] == "CF-NotAuthenticated"
    auditor = world.as_role("space_auditor", org, space)
    forbidden = upload(auditor, g, droplet_tgz())
    assert (forbidden.status_code, forbidden.json()["errors"][0]["title"]) == (403, "CF-NotAuthorized")
    outsider = world.as_role("no_role", org, space)
    hidden = upload(outsider, g, droplet_tgz())
    assert (hidden.status_code, hidden.json()["errors"][0]["detail"]) == (404, "Droplet not found")
    missing = upload(world.admin, "no-such-droplet", droplet_tgz())
    assert (missing.status_code, missing.json()["errors"][0]["detail"]) == (404, "Droplet not found")
    # None of that touched the droplet.
    assert world.admin.get(f"/v3/droplets/{g}").json()["state"] == "AWAITING_UPLOAD"


def _device(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


HOSTILE_DROPLETS: dict[str, tuple[bytes, str]] = {
    "not gzip": (b"this is not a droplet at all", "the file is not gzip compressed"),
    "gzip but not tar": (
        __import__("gzip").compress(b"plain text, no tar headers here" * 40),
        "it is not a valid tar archive",
    ),
    "parent traversal": (
        make_tgz({"./app/../../escape": b"x"}),
        "entry './app/../../escape' points outside the droplet",
    ),
    "absolute path": (make_tgz({"/etc/cron.d/evil": b"x"}), "entry '/etc/cron.d/evil' has an absolute path"),
    "symlink out": (
        make_tgz({"./app/a": b"x"}, extra=[_link("./app/link", "../../../etc/passwd")]),
        "symbolic link './app/link' points outside the droplet",
    ),
    "absolute symlink": (
        make_tgz({}, extra=[_link("./app/link", "/etc/shadow")]),
        "symbolic link './app/link' points outside the droplet",
    ),
    "hardlink out": (
        make_tgz({}, extra=[_link("./app/hard", "../outside", tarfile.LNKTYPE)]),
        "hard link './app/hard' points outside the droplet",
    ),
    "character device": (make_tgz({}, extra=[_device("./app/null", tarfile.CHRTYPE)]), "is a character device"),
    "block device": (make_tgz({}, extra=[_device("./app/sda", tarfile.BLKTYPE)]), "is a block device"),
    "fifo": (make_tgz({}, extra=[_device("./app/pipe", tarfile.FIFOTYPE)]), "is a FIFO"),
    "truncated": (droplet_tgz()[:-30], "it is truncated or corrupt"),
}


@pytest.mark.parametrize("case", list(HOSTILE_DROPLETS))
def test_hostile_tarballs_fail_and_store_nothing(world: World, case: str) -> None:
    data, expected = HOSTILE_DROPLETS[case]
    app = world.app()
    g = new_droplet(world.admin, app)["guid"]
    r = upload(world.admin, g, data)
    assert r.status_code == 202, r.text
    job = world.admin.wait_for_job(r.headers["location"])
    assert job["state"] == "FAILED"
    assert job["errors"][0]["title"] == "CF-UnprocessableEntity"
    assert job["errors"][0]["detail"].startswith("Invalid droplet: ")
    assert expected in job["errors"][0]["detail"]
    droplet = world.admin.get(f"/v3/droplets/{g}").json()
    assert droplet["state"] == "FAILED" and droplet["checksum"] is None
    assert droplet["error"] == job["errors"][0]["detail"]
    assert g not in stored_droplets(world)
    assert world.admin.get(f"/v3/droplets/{g}/download").json()["errors"][0]["detail"] == (
        "Only staged droplets can be downloaded."
    )
    # Nothing was unpacked anywhere on the server.
    assert not list((world.server.settings.scratch_dir).rglob("escape"))


def test_copy_update_delete(world: World) -> None:
    app, other = world.app(), world.app()
    data = droplet_tgz()
    source = staged_droplet(world, app, data, process_types={"web": "./server.sh"})
    r = world.admin.post(
        "/v3/droplets",
        params={"source_guid": source["guid"]},
        json={"relationships": {"app": {"data": {"guid": other["guid"]}}}},
    )
    assert r.status_code == 201, r.text
    copy = r.json()
    assert (copy["state"], copy["checksum"], copy["process_types"]) == ("COPYING", None, {"web": "./server.sh"})
    assert copy["relationships"]["app"]["data"]["guid"] == other["guid"]
    assert set(copy["links"]) == {"self", "app", "assign_current_droplet"}
    assert world.admin.wait_for_job(r.headers["location"])["state"] == "COMPLETE"
    copied = wait_for_droplet(world.admin, copy["guid"])
    assert copied["state"] == "STAGED" and copied["checksum"] == source["checksum"]
    assert world.admin.get(f"/v3/droplets/{copy['guid']}/download").content == data

    pending = new_droplet(world.admin, app)
    r = world.admin.post(
        "/v3/droplets",
        params={"source_guid": pending["guid"]},
        json={"relationships": {"app": {"data": {"guid": other["guid"]}}}},
    )
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "source droplet is not staged")
    r = world.admin.post(
        "/v3/droplets",
        params={"source_guid": source["guid"]},
        json={"relationships": {"app": {"data": {"guid": "missing"}}}},
    )
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (404, "App not found")
    r = world.admin.post("/v3/droplets", params={"source_guid": source["guid"]}, json={})
    assert r.json()["errors"][0]["detail"] == (
        "App must be an object, App guid must be a string, App guid must be between 1 and 200 characters"
    )

    patched = world.admin.patch(
        f"/v3/droplets/{copy['guid']}", json={"metadata": {"labels": {"release": "v2"}, "annotations": {"by": "me"}}}
    )
    assert patched.status_code == 200
    assert patched.json()["metadata"] == {"labels": {"release": "v2"}, "annotations": {"by": "me"}}
    image = world.admin.patch(f"/v3/droplets/{copy['guid']}", json={"image": "nginx:latest"})
    assert (image.status_code, image.json()["errors"][0]["detail"]) == (
        422,
        "Images can only be updated for docker droplets",
    )
    assert world.admin.patch(f"/v3/droplets/{copy['guid']}", json={"image": 5}).json()["errors"][0]["detail"] == (
        "Image must be a string"
    )

    r = world.admin.delete(f"/v3/droplets/{copy['guid']}")
    assert r.status_code == 202 and r.content == b""
    job = world.admin.wait_for_job(r.headers["location"])
    assert (job["operation"], job["state"]) == ("droplet.delete", "COMPLETE")
    assert world.admin.get(f"/v3/droplets/{copy['guid']}").status_code == 404
    assert copy["guid"] not in stored_droplets(world)
    assert source["guid"] in stored_droplets(world)


def test_current_droplet(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    app = world.app(space)
    base = world.server.url
    web_before = world.admin.get(f"/v3/apps/{app['guid']}/processes/web").json()
    missing = world.admin.get(f"/v3/apps/{app['guid']}/droplets/current")
    assert (missing.status_code, missing.json()["errors"][0]["detail"]) == (404, "Droplet not found")
    droplet = staged_droplet(world, app, process_types={"web": "./server.sh", "worker": "./work.sh"})

    r = world.admin.patch(
        f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet["guid"]}}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "data": {"guid": droplet["guid"]},
        "links": {
            "self": {"href": f"{base}/v3/apps/{app['guid']}/relationships/current_droplet"},
            "related": {"href": f"{base}/v3/apps/{app['guid']}/droplets/current"},
        },
    }
    assert world.admin.get(f"/v3/apps/{app['guid']}/relationships/current_droplet").json() == r.json()
    processes = {p["type"]: p for p in world.admin.get(f"/v3/apps/{app['guid']}/processes").json()["resources"]}
    assert set(processes) == {"web", "worker"}
    assert processes["web"]["guid"] == web_before["guid"] == app["guid"]
    assert processes["worker"]["instances"] == 0 and processes["web"]["instances"] == 1
    worker = world.admin.get(f"/v3/processes/{processes['worker']['guid']}").json()
    assert worker["command"] == "./work.sh"  # from the droplet (lists hide commands)

    # The current droplet is shown unredacted even to an auditor; a plain GET is redacted for them.
    auditor = world.as_role("space_auditor", org, space)
    current = auditor.get(f"/v3/apps/{app['guid']}/droplets/current").json()
    assert current["guid"] == droplet["guid"] and current["process_types"]["web"] == "./server.sh"
    assert auditor.get(f"/v3/droplets/{droplet['guid']}").json()["process_types"] == {
        "redacted_message": "[PRIVATE DATA HIDDEN]"
    }
    listed = world.admin.get(f"/v3/apps/{app['guid']}/droplets", params={"current": "true"}).json()["resources"]
    assert [d["guid"] for d in listed] == [droplet["guid"]]
    assert listed[0]["process_types"] == {"redacted_message": "[PRIVATE DATA HIDDEN IN LISTS]"}

    url = f"/v3/apps/{app['guid']}/relationships/current_droplet"
    bodies: list[dict[str, Any]] = [{"data": None}, {"data": {}}, {"data": {"guid": None}}]
    for body in bodies:
        r = world.admin.patch(url, json=body)
        assert (r.status_code, r.json()["errors"][0]["detail"]) == (
            422,
            "Current droplet cannot be removed. Replace it with a preferred droplet.",
        )
    foreign = staged_droplet(world, world.app())
    r = world.admin.patch(url, json={"data": {"guid": foreign["guid"]}})
    assert r.json()["errors"][0]["detail"] == (
        "Unable to assign current droplet. Ensure the droplet exists and belongs to this app."
    )
    pending = new_droplet(world.admin, app)
    r = world.admin.patch(url, json={"data": {"guid": pending["guid"]}})
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "droplet must be in staged state")
    assert auditor.patch(url, json={"data": {"guid": droplet["guid"]}}).status_code == 403

    # The current droplet cannot be deleted out from under its app.
    r = world.admin.delete(f"/v3/droplets/{droplet['guid']}")
    assert (r.status_code, r.json()["errors"][0]["detail"]) == (
        422,
        f'The droplet is currently used by app with guid "{app["guid"]}".',
    )

    # The seeds' older form: PUT /v3/apps/:guid/current_droplet, answered with the app.
    second = staged_droplet(world, app, process_types={"web": "./other.sh", "clock": "./clock"})
    r = world.admin.request("PUT", f"/v3/apps/{app['guid']}/current_droplet", json={"droplet_guid": second["guid"]})
    assert r.status_code == 200, r.text
    assert r.json()["guid"] == app["guid"] and r.json()["name"] == app["name"]
    assert world.admin.get(url).json()["data"]["guid"] == second["guid"]
    types = {p["type"] for p in world.admin.get(f"/v3/apps/{app['guid']}/processes").json()["resources"]}
    assert types == {"web", "worker", "clock"}  # processes are never removed by an assignment


def test_lists_filters_and_staging_droplets_hidden(world: World, tmp_path: Path) -> None:
    app = world.app()
    staged = staged_droplet(world, app)
    waiting = new_droplet(world.admin, app)
    states = world.admin.get(f"/v3/apps/{app['guid']}/droplets", params={"states": "STAGED"}).json()["resources"]
    assert [d["guid"] for d in states] == [staged["guid"]]
    everything = world.admin.get("/v3/droplets", params={"app_guids": app["guid"]}).json()["resources"]
    assert {d["guid"] for d in everything} == {staged["guid"], waiting["guid"]}
    r = world.admin.get("/v3/droplets", params={"current": "true"})
    assert r.json()["errors"][0]["detail"] == "The query parameter is invalid: Unknown query parameter(s): 'current'"
    package = ready_package(world, app, {"a": "b"})
    assert world.admin.get(f"/v3/packages/{package}/droplets").json()["resources"] == []


def test_lists_show_each_caller_its_spaces_and_filter_by_space_and_org(world: World) -> None:
    org_a, org_b = world.org(), world.org()
    space_a, space_b = world.space(org_a), world.space(org_b)
    mine, theirs = new_droplet(world.admin, world.app(space_a)), new_droplet(world.admin, world.app(space_b))
    user_guid, username = world.new_user()
    world.give_role(user_guid, "organization_user", org=org_a["guid"])
    world.give_role(user_guid, "space_developer", space=space_a["guid"])
    developer = world.login_as(username)

    def listed(api: Api, **params: str) -> tuple[list[str], int]:
        body = api.get("/v3/droplets", params={"per_page": 5000, **params}).json()
        return [d["guid"] for d in body["resources"]], body["pagination"]["total_results"]

    # The developer sees the droplets of apps in their space, and counts only those.
    assert listed(developer) == ([mine["guid"]], 1)
    assert listed(developer, space_guids=space_b["guid"]) == ([], 0)
    # Filters by space and by organization go through the droplet's app.
    assert listed(world.admin, space_guids=space_b["guid"]) == ([theirs["guid"]], 1)
    assert listed(world.admin, organization_guids=org_a["guid"]) == ([mine["guid"]], 1)
    both = listed(world.admin, organization_guids=f"{org_a['guid']},{org_b['guid']}")
    assert sorted(both[0]) == sorted([mine["guid"], theirs["guid"]]) and both[1] == 2


def test_staging_droplets_are_neither_listed_nor_counted(world: World) -> None:
    """The count is taken apart from the page (all the filters find, less the STAGING ones): it
    must agree with the page however the list is filtered, and for every caller."""
    org = world.org()
    space = world.space(org)
    app = world.app(space)
    listed = new_droplet(world.admin, app)["guid"]
    _, hidden = staging_build(world.server.deps.db, app["guid"])
    user_guid, username = world.new_user()
    world.give_role(user_guid, "organization_user", org=org["guid"])
    world.give_role(user_guid, "space_developer", space=space["guid"])
    developer = world.login_as(username)
    filters: list[dict[str, str]] = [
        {"app_guids": app["guid"]},
        {"space_guids": space["guid"]},
        {"organization_guids": org["guid"]},
        {"app_guids": app["guid"], "states": "STAGING,AWAITING_UPLOAD"},
        {"app_guids": app["guid"], "states": "STAGING"},
        {"guids": f"{listed},{hidden}"},
    ]
    for api in (world.admin, developer):
        for params in filters:
            body = api.get("/v3/droplets", params={"per_page": 1, **params}).json()
            expected = [] if params.get("states") == "STAGING" else [listed]
            assert [d["guid"] for d in body["resources"]] == expected, params
            assert body["pagination"]["total_results"] == len(expected), params
        body = api.get(f"/v3/apps/{app['guid']}/droplets").json()
        assert ([d["guid"] for d in body["resources"]], body["pagination"]["total_results"]) == ([listed], 1)
    assert world.admin.get(f"/v3/droplets/{hidden}").status_code == 200  # there, only not listed


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_droplet_bomb_is_refused_before_it_expands(world: World, tmp_path: Path) -> None:
    # 80 MiB of zeros gzip to well under 1 MiB: far past the allowed expansion ratio of 200.
    bomb = tmp_path / "bomb.tgz"
    with tarfile.open(bomb, mode="w:gz") as tar:
        info = tarfile.TarInfo("./app/zeros.bin")
        info.size = 80 * 1024 * 1024
        tar.addfile(info, io.BufferedReader(_Zeros(info.size)))
    assert bomb.stat().st_size < 1024 * 1024
    g = new_droplet(world.admin, world.app())["guid"]
    r = upload(world.admin, g, bomb.read_bytes())
    job = world.admin.wait_for_job(r.headers["location"])
    assert job["errors"][0]["detail"] == "Invalid droplet: it expands more than 200 times"
    assert world.admin.get(f"/v3/droplets/{g}").json()["state"] == "FAILED"
    assert g not in stored_droplets(world)


def test_start_stop_restart(world: World, org: dict[str, Any], space: dict[str, Any]) -> None:
    app = world.app(space)
    base = f"/v3/apps/{app['guid']}/actions"
    for action in ("start", "restart"):
        r = world.admin.post(f"{base}/{action}")
        assert (r.status_code, r.json()["errors"][0]["detail"]) == (422, "Assign a droplet before starting this app.")
    droplet = staged_droplet(world, app)
    world.admin.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet["guid"]}})
    auditor = world.as_role("space_auditor", org, space)
    assert auditor.post(f"{base}/start").status_code == 403
    started = world.admin.post(f"{base}/start")
    assert (started.status_code, started.json()["state"]) == (200, "STARTED")
    assert world.admin.get(f"/v3/apps/{app['guid']}/processes/web").json()["guid"] == app["guid"]
    assert world.admin.post(f"{base}/restart").json()["state"] == "STARTED"
    stopped = world.admin.post(f"{base}/stop")
    assert (stopped.status_code, stopped.json()["state"]) == (200, "STOPPED")
    assert world.admin.get(f"/v3/apps/{app['guid']}").json()["state"] == "STOPPED"


def test_oversized_upload_is_refused_with_413(tmp_path: Path) -> None:
    with run_server("sqlite", tmp_path / "small", "unused", max_droplet_size=64 * 1024) as running:
        world = World(running)
        g = new_droplet(world.admin, world.app())["guid"]
        r = upload(world.admin, g, os.urandom(256 * 1024))
        assert r.status_code == 413
        assert r.json()["errors"][0]["detail"] == (
            "Uploaded droplet file is invalid: Uploads may not be larger than 65536 bytes"
        )
        assert world.admin.get(f"/v3/droplets/{g}").json()["state"] == "AWAITING_UPLOAD"
        assert not [p for p in (running.settings.scratch_dir / "uploads").glob("*") if p.is_file()]
