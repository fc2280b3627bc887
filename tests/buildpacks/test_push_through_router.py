"""A fresh Ladle, no setup: a static site, a Flask app, an Express app and a prebuilt binary are
pushed as the cf CLI pushes them, detected by the system buildpacks, staged, run by the runner
and answer through the router with their own content."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.buildpacks.apps import EXPRESS, FLASK, STATIC, binary_app
from tests.runner.test_local_runner import wait_until
from tests.support.cf import World, unique
from tests.support.server import run_server

YAML = {"Content-Type": "application/x-yaml"}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("fresh-run")
    with run_server(
        "sqlite", data, "ladle_test_fresh_run", system_buildpacks=True, router_enabled=True, runner="local"
    ) as server:
        yield World(server)


def _zip(files: dict[str, str | bytes], mode: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, content)
    return out.getvalue()


def _push_and_get(world: World, files: dict[str, str | bytes], extra: str = "", mode: int = 0o644) -> tuple[str, str]:
    api = world.admin
    space = world.space()
    name = unique("sys")
    manifest = f"applications:\n- name: {name}\n  memory: 256M\n  default-route: true\n{extra}"
    r = api.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=manifest.encode(), headers=YAML)
    assert r.status_code == 202, r.text
    assert api.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    (app,) = api.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"]
    package = api.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    r = api.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("package.zip", _zip(files, mode))})
    assert r.status_code == 200, r.text
    wait_until(lambda: api.get(f"/v3/packages/{package['guid']}").json()["state"] == "READY", 60, "package")
    build = api.post("/v3/builds", json={"package": {"guid": package["guid"]}}).json()

    def staged() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v3/builds/{build['guid']}").json()
        assert body["state"] != "FAILED", body
        return body if body["state"] == "STAGED" else None

    droplet = wait_until(staged, 240, "the staging")["droplet"]["guid"]
    buildpack = api.get(f"/v3/droplets/{droplet}").json()["buildpacks"][0]["name"]
    api.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet}})
    assert api.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200
    settings = world.server.settings
    router = f"http://{settings.router_host}:{settings.router_port}/"
    host = f"{name}.apps.localhost"

    def answered() -> str | None:
        response = httpx.get(router, headers={"Host": host}, timeout=10)
        return response.text if response.status_code == 200 else None

    text: str = wait_until(answered, 120, f"{name} to answer through the router")
    return buildpack, text


def test_static_site(fresh: World) -> None:
    buildpack, text = _push_and_get(fresh, STATIC)
    assert buildpack == "staticfile_buildpack"
    assert "hello from staticfile" in text


def test_flask_app(fresh: World) -> None:
    buildpack, text = _push_and_get(fresh, FLASK)
    assert (buildpack, text) == ("python_buildpack", "hello from flask")


def test_express_app(fresh: World) -> None:
    buildpack, text = _push_and_get(fresh, EXPRESS)
    assert (buildpack, text) == ("nodejs_buildpack", "hello from express")


def test_prebuilt_binary(fresh: World, tmp_path: Path) -> None:
    buildpack, text = _push_and_get(fresh, binary_app(tmp_path), "  buildpacks: [binary_buildpack]\n", mode=0o755)
    assert (buildpack, text) == ("binary_buildpack", "hello from a binary")
