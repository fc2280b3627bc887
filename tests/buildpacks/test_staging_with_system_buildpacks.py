"""A fresh Ladle stages the apps users push, with no setup: its system buildpacks detect them.

Each app goes through the API as the cf CLI sends it (app, package, zip upload, ``POST
/v3/builds``, poll). Real buildpack processes run in the staging sandbox; the Flask and Express
apps install real packages from PyPI and the npm registry.

Pre-runner check: each staged droplet is then started the way Cloud Foundry's launcher starts it,
in a plain subprocess (``tests/buildpacks/prerunner.py``), and must answer HTTP on ``$PORT``.
Once Ladle runs apps behind its router, these tests should push and reach the apps there instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.blobstore.base import fan_out
from ladle.blobstore.local import LocalBlobstore
from tests.buildpacks.apps import EXPRESS, FLASK, GO, STATIC, binary_app, ruby_app
from tests.buildpacks.prerunner import start_like_the_launcher
from tests.staging.helpers import wait_for_build
from tests.support.archives import make_zip
from tests.support.cf import World
from tests.support.server import run_server

NOT_DETECTED = "NoAppDetectedError - An app was not successfully detected by any available buildpack"
COMPILE_FAILED = "BuildpackCompileFailed - App staging failed in the buildpack compile phase"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server on a fresh data dir with the defaults a user gets (system buildpacks on)."""
    with run_server("sqlite", tmp_path_factory.mktemp("system-buildpacks"), "unused", system_buildpacks=True) as s:
        yield World(s)


def push_package(world: World, app: dict[str, Any], files: Mapping[str, str | bytes], *, mode: int = 0o644) -> str:
    package = world.admin.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    bits = make_zip(files, mode=mode)
    r = world.admin.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("app.zip", bits)})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while (state := world.admin.get(f"/v3/packages/{package['guid']}").json()["state"]) != "READY":
        assert state != "FAILED" and time.monotonic() < deadline, state
        time.sleep(0.05)
    return str(package["guid"])


def stage(world: World, package: str, buildpacks: list[str] | None = None) -> tuple[dict[str, Any], str]:
    """A build to its end (poll, as the CLI does) and its staging log."""
    body: dict[str, Any] = {"package": {"guid": package}}
    if buildpacks is not None:
        body["lifecycle"] = {"type": "buildpack", "data": {"buildpacks": buildpacks}}
    r = world.admin.post("/v3/builds", json=body)
    assert r.status_code == 201, r.text
    build = wait_for_build(world.admin, r.json()["guid"], timeout=300)
    log = world.admin.get(f"/v3/builds/{build['guid']}/logs").text
    return build, log


def staged(world: World, build: dict[str, Any], log: str) -> dict[str, Any]:
    assert build["state"] == "STAGED", f"{build['error']}\n{log}"
    droplet: dict[str, Any] = world.admin.get(f"/v3/droplets/{build['droplet']['guid']}").json()
    return droplet


def push_and_stage(
    world: World, files: Mapping[str, str | bytes], buildpacks: list[str] | None = None, *, mode: int = 0o644
) -> tuple[dict[str, Any], str]:
    app = world.app()
    return stage(world, push_package(world, app, files, mode=mode), buildpacks)


def test_a_fresh_server_has_the_system_buildpacks(fresh: World) -> None:
    listed = fresh.admin.get("/v3/buildpacks").json()["resources"]
    assert [(b["name"], b["position"], b["enabled"], b["state"]) for b in listed] == [
        ("staticfile_buildpack", 1, True, "READY"),
        ("ruby_buildpack", 2, True, "READY"),
        ("nodejs_buildpack", 3, True, "READY"),
        ("go_buildpack", 4, True, "READY"),
        ("python_buildpack", 5, True, "READY"),
        ("binary_buildpack", 6, True, "READY"),
    ]
    assert {b["stack"] for b in listed} == {"cflinuxfs4"}
    assert listed[0]["filename"].startswith("staticfile_buildpack-v")


def test_static_site(fresh: World, tmp_path: Path) -> None:
    build, log = push_and_stage(fresh, STATIC)
    droplet = staged(fresh, build, log)
    receipt = {"name": "staticfile_buildpack", "detect_output": "staticfile", "buildpack_name": "staticfile"}
    assert droplet["buildpacks"] == [{**receipt, "version": ladle.__version__}]
    assert droplet["process_types"] == {"web": 'python3 "$DEPS_DIR/0/staticfile/serve.py"'}
    assert "-----> staticfile_buildpack detected this app (detect output: staticfile)" in log
    assert "Staticfile app: Staticfile found" in log
    with start_like_the_launcher(fresh.admin, droplet["guid"], droplet["process_types"]["web"], tmp_path) as app:
        page = app.get("/")
        assert (page.status_code, page.text) == (200, "<!DOCTYPE html><h1>hello from staticfile</h1>\n")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert app.get("/style.css").headers["content-type"] == "text/css; charset=utf-8"
        assert app.get("/client/side/route").text == page.text  # pushstate: enabled


def test_flask_app_and_its_warm_restaging(fresh: World, tmp_path: Path) -> None:
    app = fresh.admin.post(
        "/v3/apps", json={"name": "flask", "relationships": {"space": {"data": {"guid": fresh.space()["guid"]}}}}
    ).json()
    build, log = stage(fresh, push_package(fresh, app, FLASK))
    droplet = staged(fresh, build, log)
    assert [b["name"] for b in droplet["buildpacks"]] == ["python_buildpack"]
    assert droplet["process_types"] == {"web": "python app.py"}
    assert "-----> python_buildpack detected this app (detect output: python)" in log
    assert "Python app: requirements.txt found" in log
    assert "using the host's python3" in log
    assert "Downloading flask-3.0.3-py3-none-any.whl" in log  # from the package index
    with start_like_the_launcher(fresh.admin, droplet["guid"], "python app.py", tmp_path / "cold") as started:
        assert started.get("/").text == "hello from flask"

    # The same requirements again: everything comes from the app's build cache.
    cache_store = fresh.server.deps.blobstores.buildpack_cache
    assert isinstance(cache_store, LocalBlobstore)
    cache_blob = cache_store.root / fan_out(f"{app['guid']}/cflinuxfs4")
    stored = cache_blob.stat().st_mtime_ns
    build, log = stage(fresh, push_package(fresh, app, FLASK))
    droplet = staged(fresh, build, log)
    assert not re.search(r"Collecting|Downloading \S+\.whl", log), log
    assert "Unchanged since the last staging: reusing the packages it installed (build cache)" in log
    assert cache_blob.stat().st_mtime_ns == stored  # the cache did not change, so it was not stored again
    with start_like_the_launcher(fresh.admin, droplet["guid"], "python app.py", tmp_path / "warm") as started:
        assert started.get("/").text == "hello from flask"


def test_express_app_with_a_lockfile(fresh: World, tmp_path: Path) -> None:
    build, log = push_and_stage(fresh, EXPRESS)
    droplet = staged(fresh, build, log)
    assert [(b["name"], b["detect_output"]) for b in droplet["buildpacks"]] == [("nodejs_buildpack", "nodejs")]
    assert droplet["process_types"] == {"web": "npm start"}
    assert "Installing dependencies with npm ci (NODE_ENV=production)" in log
    assert "engines.node '>=18' is satisfied by node v" in log
    with start_like_the_launcher(fresh.admin, droplet["guid"], "npm start", tmp_path) as started:
        assert started.get("/").text == "hello from express"


def test_go_app_with_vendored_modules(fresh: World, tmp_path: Path) -> None:
    build, log = push_and_stage(fresh, GO)
    droplet = staged(fresh, build, log)
    assert [b["name"] for b in droplet["buildpacks"]] == ["go_buildpack"]
    assert droplet["process_types"] == {"web": "./bin/hello"}
    assert "Building . (vendored modules, no network)" in log
    with start_like_the_launcher(fresh.admin, droplet["guid"], "./bin/hello", tmp_path) as started:
        assert started.get("/").text == "hello from go (vendored)"


def test_ruby_app_with_vendor_cache(fresh: World, tmp_path: Path) -> None:
    build, log = push_and_stage(fresh, ruby_app(tmp_path / "src"))
    droplet = staged(fresh, build, log)
    assert [b["name"] for b in droplet["buildpacks"]] == ["ruby_buildpack"]
    assert droplet["process_types"] == {"web": "bundle exec ruby app.rb"}
    assert "Installing gems with bundle install --local (from vendor/cache, offline)" in log
    assert "Installing ladle_greeting 1.0.0" in log
    with start_like_the_launcher(fresh.admin, droplet["guid"], "bundle exec ruby app.rb", tmp_path / "run") as app:
        assert app.get("/").text == "hello from ruby (gem from vendor/cache)"


def test_binary_app_needs_the_buildpack_named(fresh: World, tmp_path: Path) -> None:
    files = binary_app(tmp_path)
    # binary_buildpack never detects an app by itself.
    build, log = push_and_stage(fresh, files, mode=0o755)
    assert (build["state"], build["error"]) == ("FAILED", NOT_DETECTED)
    build, log = push_and_stage(fresh, files, ["binary_buildpack"], mode=0o755)
    droplet = staged(fresh, build, log)
    assert [(b["name"], b["buildpack_name"]) for b in droplet["buildpacks"]] == [("binary_buildpack", "binary")]
    assert droplet["process_types"] == {"web": "./server"}
    with start_like_the_launcher(fresh.admin, droplet["guid"], "./server", tmp_path / "run") as started:
        assert started.get("/").text == "hello from a binary"


def test_an_app_no_buildpack_detects(fresh: World) -> None:
    build, log = push_and_stage(fresh, {"notes.txt": "nothing to run here\n"})
    assert (build["state"], build["error"]) == ("FAILED", NOT_DETECTED)
    assert "None of the buildpacks detected a compatible application" in log


def test_requirements_that_cannot_be_installed(fresh: World) -> None:
    files = {**FLASK, "requirements.txt": "flask==3.0.3\nladle-no-such-package-4d1c9e==1.0\n"}
    build, log = push_and_stage(fresh, files)
    assert (build["state"], build["error"]) == ("FAILED", COMPILE_FAILED)
    assert "No matching distribution found for ladle-no-such-package-4d1c9e==1.0" in log  # pip's own words
    assert "**ERROR** pip could not install the app's requirements (pip's message is above)." in log


def test_python_app_without_a_start_command(fresh: World) -> None:
    build, log = push_and_stage(fresh, {"app.py": "print('hi')\n", "requirements.txt": ""})
    assert (build["state"], build["error"]) == ("FAILED", "StagingError - Staging error: Start command not specified")
    assert "Add a Procfile to the app that says how to start it, for example:" in log
    assert "web: python app.py" in log


def test_node_engines_that_the_host_cannot_meet(fresh: World) -> None:
    files = {"package.json": '{"name": "old", "engines": {"node": "0.10.x"}}', "server.js": ""}
    build, log = push_and_stage(fresh, files)
    assert (build["state"], build["error"]) == ("FAILED", COMPILE_FAILED)
    assert "package.json asks for node '0.10.x' (engines.node), but this Ladle host has node v" in log


def test_python_as_a_supply_buildpack_for_binary(fresh: World, tmp_path: Path) -> None:
    server = (
        "import http.server, os\n"
        "import itsdangerous\n\n"
        "class Hello(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = ('itsdangerous ' + itsdangerous.__name__).encode()\n"
        "        self.send_response(200)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body)\n\n"
        "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), Hello).serve_forever()\n"
    )
    files = {
        "server.py": server,
        # An app's pyproject.toml (no [build-system]): its dependencies are installed, not the app.
        "pyproject.toml": '[project]\nname = "web"\nversion = "0"\ndependencies = ["itsdangerous==2.2.0"]\n',
        "runtime.txt": "python-3.99.1\n",
        "Procfile": "web: python server.py\n",
    }
    build, log = push_and_stage(fresh, files, ["python_buildpack", "binary_buildpack"])
    droplet = staged(fresh, build, log)
    assert [(b["name"], b["buildpack_name"]) for b in droplet["buildpacks"]] == [
        ("python_buildpack", "python"),
        ("binary_buildpack", "binary"),
    ]
    assert "runtime.txt asks for Python 3.99.1, which is not installed on this host; using the host's python3" in log
    assert "Installing requirements from pyproject.toml with pip" in log
    # The final (binary) buildpack installed the supply buildpack's profile.d script.
    with start_like_the_launcher(fresh.admin, droplet["guid"], "python server.py", tmp_path) as started:
        assert started.get("/").text == "itsdangerous itsdangerous"
