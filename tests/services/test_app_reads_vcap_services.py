"""A Python app bound to a user-provided instance reads its credentials with ``cfenv`` (the
package apps use on Cloud Foundry) and answers through the router.

Pushed as ``cf push`` does with a manifest whose ``services:`` names the instance; staged by
the system python buildpack from wheels vendored in the app (the sandbox cannot reach a
package index); a binding made while it runs shows only after a restart, as on Cloud Foundry.
Neither the server's logs nor the app's log stream ever hold the credentials.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ladle.db.models import LogLine
from tests.support.cf import Api, World, unique
from tests.support.server import run_server
from tests.support.venvs import CACHE
from tests.support.waiting import wait_until

YAML = {"Content-Type": "application/x-yaml"}
SECRET = "pw-9f8e7d"

APP = """\
import http.server
import json
import os

from cfenv import AppEnv


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        env = AppEnv()
        found = {}
        for name in ("main-db", "late-db"):
            service = env.get_service(name=name)
            found[name] = None if service is None else service.credentials
        body = json.dumps(
            {
                "app": env.name,
                "services": found,
                "group": os.environ.get("FROM_RUNNING_GROUP"),
                "database_url": os.environ.get("DATABASE_URL"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _wheels() -> dict[str, bytes]:
    """cfenv and its dependencies as wheels, downloaded once on the host into the test cache."""
    target = CACHE / "cfenv-wheels"
    if not any(target.glob("cfenv-*.whl")):
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
                *("--only-binary=:all:", "--dest", str(target), "cfenv==0.5.3"),
            ],
            check=True,
        )
    return {f"vendor/{p.name}": p.read_bytes() for p in sorted(target.glob("*.whl"))}


def _zip(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return out.getvalue()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("services-run")
    with run_server(
        "sqlite", data, "ladle_test_services_run", system_buildpacks=True, router_enabled=True, runner="local"
    ) as server:
        yield World(server)


def _ups(api: Api, space: dict[str, Any], name: str, credentials: dict[str, Any]) -> dict[str, Any]:
    r = api.post(
        "/v3/service_instances",
        json={
            "type": "user-provided",
            "name": name,
            "relationships": {"space": {"data": {"guid": space["guid"]}}},
            "credentials": credentials,
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_app_reads_bound_credentials_with_cfenv(running: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ladle")
    world, api = running, running.admin
    space = world.space()
    name = unique("svc-app")
    main_creds = {"uri": f"postgres://app:{SECRET}@db.internal:5432/main", "hostname": "db.internal"}
    _ups(api, space, "main-db", main_creds)
    late = _ups(api, space, "late-db", {"token": "late-" + SECRET})
    r = api.patch("/v3/environment_variable_groups/running", json={"var": {"FROM_RUNNING_GROUP": "yes"}})
    assert r.status_code == 200, r.text

    manifest = f"applications:\n- name: {name}\n  memory: 256M\n  default-route: true\n  services:\n  - main-db\n"
    r = api.post(f"/v3/spaces/{space['guid']}/actions/apply_manifest", content=manifest.encode(), headers=YAML)
    assert r.status_code == 202, r.text
    assert api.wait_for_job(r.headers["Location"])["state"] == "COMPLETE"
    (app,) = api.get("/v3/apps", params={"names": name, "space_guids": space["guid"]}).json()["resources"]
    bindings = api.get("/v3/service_credential_bindings", params={"app_guids": app["guid"]}).json()["resources"]
    assert len(bindings) == 1

    files: dict[str, str | bytes] = {
        "app.py": APP,
        "requirements.txt": "--no-index\n--find-links vendor\ncfenv==0.5.3\n",
        "Procfile": "web: python app.py\n",
        **_wheels(),
    }
    package = api.post(
        "/v3/packages", json={"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}}
    ).json()
    r = api.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("package.zip", _zip(files))})
    assert r.status_code == 200, r.text
    api.wait_for(f"/v3/packages/{package['guid']}", lambda p: p["state"] == "READY", timeout=60)
    build = api.post("/v3/builds", json={"package": {"guid": package["guid"]}}).json()
    staged = api.wait_for(f"/v3/builds/{build['guid']}", lambda b: b["state"] in {"STAGED", "FAILED"}, timeout=240)
    assert staged["state"] == "STAGED", staged["error"]
    droplet = staged["droplet"]["guid"]
    api.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", json={"data": {"guid": droplet}})
    assert api.post(f"/v3/apps/{app['guid']}/actions/start").status_code == 200

    settings = world.server.settings
    router = f"http://{settings.router_host}:{settings.router_port}/"
    host = f"{name}.apps.localhost"

    def answer() -> dict[str, Any] | None:
        response = httpx.get(router, headers={"Host": host}, timeout=10)
        return dict(response.json()) if response.status_code == 200 else None

    def app_log() -> str:
        with world.server.deps.db.session() as s:
            lines = s.scalars(select(LogLine.message).where(LogLine.source_guid == app["guid"])).all()
        return "the app to answer through the router; its log:\n" + "\n".join(lines[-40:])

    first = wait_until(answer, timeout=120, message=app_log)
    assert first == {
        "app": name,
        "services": {"main-db": main_creds, "late-db": None},
        "group": "yes",
        # Cloud Controller's DATABASE_URL: the first bound credential uri of a SQL database.
        "database_url": main_creds["uri"],
    }

    # A binding made while the app runs reaches it with the next start, not before.
    r = api.post(
        "/v3/service_credential_bindings",
        json={
            "type": "app",
            "relationships": {
                "service_instance": {"data": {"guid": late["guid"]}},
                "app": {"data": {"guid": app["guid"]}},
            },
        },
    )
    assert r.status_code == 201, r.text
    assert answer() == first
    assert api.post(f"/v3/apps/{app['guid']}/actions/restart").status_code == 200

    def restarted() -> dict[str, Any] | None:
        seen = answer()
        return seen if seen and seen["services"]["late-db"] is not None else None

    second = wait_until(restarted, timeout=120, message="the restarted app to see the new binding")
    assert second["services"] == {"main-db": main_creds, "late-db": {"token": "late-" + SECRET}}

    api.patch("/v3/environment_variable_groups/running", json={"var": {"FROM_RUNNING_GROUP": None}})
    # Credentials never reach a log: not the server's, not the app's log stream.
    assert all(SECRET not in record.getMessage() and SECRET not in str(vars(record)) for record in caplog.records)
    with world.server.deps.db.session() as s:
        lines = s.scalars(select(LogLine.message).where(LogLine.source_guid == app["guid"])).all()
    assert lines, "the app's log stream is empty"
    assert not [line for line in lines if SECRET in line]
