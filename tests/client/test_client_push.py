"""``ladle`` client commands against a real server with the local runner and the router:
login, target, push (resource matching, upload progress, live staging log, instances), the
commands on apps, ``--json`` and CF errors."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.cf_shaped import LADLE_ONLY, cf_shaped
from tests.client.harness import Client, Interactive
from tests.runner.test_local_runner import BUILDPACK, SERVER, wait_until
from tests.staging.helpers import admin_buildpack
from tests.support.cf import World, unique
from tests.support.server import ADMIN_PASSWORD, RunningServer, run_server
from tests.support.traffic import TrafficRecord

# Bigger than the resource pool's minimum (64 KiB): the server keeps it and matches it next time.
BIG = 300 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    data = tmp_path_factory.mktemp("client")
    with run_server("sqlite", data, "ladle_test_client", router_enabled=True, runner="local") as running:
        buildpack = admin_buildpack(World(running), data / "bp", BUILDPACK)["name"]
        yield running, str(buildpack)


@pytest.fixture(scope="module")
def client(server: tuple[RunningServer, str], tmp_path_factory: pytest.TempPathFactory) -> Client:
    """Logged in as admin, with an org and space made and targeted by the client itself."""
    running, _ = server
    client = Client(tmp_path_factory.mktemp("client-config"))
    client.ok("login", running.url, "-u", "admin", "-p", ADMIN_PASSWORD)
    org, space = unique("org"), unique("space")
    client.ok("create-org", org)
    client.ok("target", "-o", org)
    client.ok("create-space", space)
    target = client.ok("target", "-s", space, "--json").json()
    assert target == {"api": running.url, "user": "admin", "org": org, "space": space}
    return client


def _app_dir(root: Path, name: str, buildpack: str) -> Path:
    app = root / name
    app.mkdir()
    (app / "server.py").write_text(SERVER)
    (app / "data.bin").write_bytes(os.urandom(BIG))
    (app / "secret.txt").write_text("must not be pushed\n")
    (app / ".cfignore").write_text("secret.txt\n")
    (app / "manifest.yml").write_text(f"applications:\n- name: {name}\n  memory: 128M\n  buildpacks: [{buildpack}]\n")
    return app


def _through_router(running: RunningServer, host: str, path: str = "/") -> httpx.Response | None:
    settings = running.settings
    response = httpx.get(
        f"http://{settings.router_host}:{settings.router_port}{path}", headers={"Host": host}, timeout=10
    )
    return response if response.status_code == 200 else None


def test_config_file_is_private(client: Client) -> None:
    config = client.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(client.config_dir.stat().st_mode) == 0o700


def test_push_then_push_again(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, buildpack = server
    name = unique("cli")
    app = _app_dir(tmp_path, name, buildpack)

    started = time.monotonic()
    first = client.ok("push", "--json", cwd=app)
    elapsed = time.monotonic() - started
    result = first.json()
    host = f"{name}.apps.localhost"
    assert result["name"] == name and result["state"] == "STARTED"
    assert result["routes"] == [host]
    # The URL at the router /v3/info names (Ladle's own addition; on CF it would be https).
    assert result["urls"] == [f"http://{host}:{running.settings.router_port}"]
    assert result["instances"] == [{"type": "web", "index": 0, "state": "RUNNING"}]
    upload = result["upload"]
    # server.py, data.bin (.cfignore keeps secret.txt out, CF's defaults manifest.yml and .cfignore)
    assert (upload["files"], upload["matched_files"]) == (2, 0)
    assert upload["uploaded_bytes"] > BIG * 0.9  # random bytes do not compress
    # The staging log came live on stderr (--json keeps stdout for the document).
    assert "[STG/0]" in first.stderr and "Uploading complete" in first.stderr, first.stderr
    # No more requests than the cf CLI's least for the same push: cf-clients §5c makes 22 to the
    # API with one look at each thing it waits for, and looks again every 3 s it waits (not
    # counting its log-cache reads, dozens a second while it waits).
    assert result["requests"] <= 22 + int(elapsed / 3), (result["requests"], elapsed)

    response = wait_until(lambda: _through_router(running, host), 60, "the app through the router")
    environment = response.json()
    assert "secret.txt" not in environment.get("LADLE_NOTHING", "")  # the app answered with its env
    assert environment["PORT"] == "8080"

    second = client.ok("push", cwd=app)
    assert re.search(r"1 of 2 files \(300\.0 KiB of 30\d\.\d KiB\) already on the server", second.stdout), second.stdout
    again = client.ok("push", "--json", cwd=app).json()["upload"]
    assert again["matched_files"] == 1 and again["matched_bytes"] == BIG
    assert again["uploaded_bytes"] < 4096  # only server.py, zipped
    wait_until(lambda: _through_router(running, host), 60, "the app after the second push")

    # The droplet staged from the second package has the matched file, taken from the server's pool.
    droplet = client.ok("download-droplet", name, str(tmp_path / "droplet.tgz"))
    assert "saved to" in droplet.stdout
    with tarfile.open(tmp_path / "droplet.tgz") as tar:
        (member,) = [m for m in tar.getmembers() if m.name.endswith("app/data.bin")]
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == (app / "data.bin").read_bytes()


def test_progress_bar_on_a_terminal(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    _, buildpack = server
    name = unique("tty")
    app = _app_dir(tmp_path, name, buildpack)
    code, drawn = client.on_terminal("push", cwd=app)
    assert code == 0, drawn
    assert "Uploading" in drawn
    # Rich's bar: bytes done of total, a rate and a remaining time, in terminal colours.
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? kB", drawn), drawn
    assert re.search(r"[\d.]+ [kMG]?B/s", drawn), drawn
    assert "\x1b[" in drawn  # escape sequences: colour and redraws only on a terminal
    # A spinner per instance, ticked off once it runs; then the route.
    assert re.search(r"✓.*web #0 running", drawn), drawn
    assert re.search(rf"routes:\s+{name}\.apps\.localhost", drawn), drawn


def test_commands_on_an_app(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    _, buildpack = server
    name = unique("ops")
    app = _app_dir(tmp_path, name, buildpack)
    client.ok("push", "--name", name, "-i", "1", "-m", "128M", cwd=app)

    apps = client.ok("apps", "--json").json()
    (mine,) = [a for a in apps if a["name"] == name]
    assert mine["state"] == "STARTED" and mine["routes"] == [f"{name}.apps.localhost"]
    assert mine["processes"] == ["web:1/1"]
    assert name in client.ok("apps").stdout

    shown = client.ok("app", name, "--json").json()
    assert shown["app"]["name"] == name and shown["current_droplet"]
    assert [s["state"] for s in shown["processes"][0]["stats"]] == ["RUNNING"]

    client.ok("set-env", name, "GREETING", "hello")
    assert client.ok("env", name, "--json").json()["environment_variables"] == {"GREETING": "hello"}

    assert client.ok("stop", name, "--json").json()["state"] == "STOPPED"
    assert client.ok("start", name, "--json").json()["instances"] == [{"type": "web", "index": 0, "state": "RUNNING"}]
    scaled = client.ok("scale", name, "-i", "2", "--json").json()
    assert scaled["instances"] == 2
    client.ok("scale", name, "-i", "1")

    droplets = client.ok("droplets", name, "--json").json()
    assert [d["current"] for d in droplets].count(True) == 1

    recent = client.ok("logs", name, "--recent")
    assert "[STG/0]" in recent.stdout and "[APP/PROC/WEB/0]" in recent.stdout

    restaged = client.ok("restage", name, "--json").json()
    assert restaged["instances"] == [{"type": "web", "index": 0, "state": "RUNNING"}]
    assert len(client.ok("droplets", name, "--json").json()) == 2

    client.ok("delete", name, "-f", "-r")
    missing = client.run("app", name)
    assert missing.code == 1 and f"App '{name}' not found." in missing.stderr


def test_cf_error_detail_is_shown(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    _, buildpack = server
    app = _app_dir(tmp_path, unique("bad"), buildpack)
    name = app.name
    result = client.run("push", "-m", "lots", cwd=app)
    assert result.code == 1
    # The server's detail (from the failed apply_manifest job), word for word, first on stderr.
    assert result.stderr.startswith(f"For application '{name}': Process \"web\": Memory is not a number\n")
    assert result.stdout.count("Traceback") == 0 and "Traceback" not in result.stderr


def test_not_logged_in(tmp_path: Path) -> None:
    result = Client(tmp_path / "nobody").run("apps")
    assert result.code == 3 and "ladle login" in result.stderr


def test_rolling_restart_and_push_keep_serving(
    client: Client, server: tuple[RunningServer, str], tmp_path: Path
) -> None:
    running, buildpack = server
    name = unique("roll")
    app_dir = _app_dir(tmp_path, name, buildpack)
    pushed = client.ok("push", "-i", "2", "--json", cwd=app_dir).json()
    host = f"{name}.apps.localhost"
    wait_until(lambda: _through_router(running, host), 60, "the app through the router")
    settings = running.settings
    traffic = TrafficRecord()
    stop = threading.Event()

    def steady_stream() -> None:
        router = f"http://{settings.router_host}:{settings.router_port}"
        with httpx.Client(base_url=router, headers={"Host": host}, timeout=10) as http:
            while not stop.is_set():
                traffic.send(http)

    stream = threading.Thread(target=steady_stream, daemon=True)
    stream.start()
    try:
        restarted = client.ok("restart", name, "--strategy", "rolling", "--json").json()
        (app_dir / "server.py").write_text(SERVER + "\n# the second version\n")
        repushed = client.ok("push", "--strategy", "rolling", "--json", cwd=app_dir).json()
    finally:
        stop.set()
        stream.join(timeout=30)
    assert traffic.failures == [], traffic.failures[:5]
    # Old instances, those of the restart and those of the push all served along the way.
    assert len(traffic.served) >= 4, traffic.served
    assert restarted["state"] == "STARTED"
    assert [i["state"] for i in restarted["instances"]] == ["RUNNING", "RUNNING"]
    assert [i["state"] for i in repushed["instances"]] == ["RUNNING", "RUNNING"]
    api = World(running).admin
    deployments = api.get("/v3/deployments", params={"app_guids": pushed["guid"]}).json()["resources"]
    assert [(d["status"]["value"], d["status"]["reason"]) for d in deployments] == [("FINALIZED", "DEPLOYED")] * 2
    # The push's deployment made its new droplet the app's.
    current = api.get(f"/v3/apps/{pushed['guid']}/droplets/current").json()["guid"]
    assert current == repushed["droplet"] != pushed["droplet"]
    # With no droplet there is nothing to deploy: said, with the API left alone.
    bare = _app_dir(tmp_path, unique("bare"), buildpack)
    client.ok("push", "--no-start", cwd=bare)
    refused = client.run("restart", bare.name, "--strategy", "rolling")
    assert refused.code == 1 and "has no droplet to deploy" in refused.stderr, refused


def test_every_command_has_help(client: Client) -> None:
    from ladle.client import COMMANDS

    for command in sorted(COMMANDS):
        shown = client.ok(command, "--help")
        assert shown.stdout.startswith(f"Usage: ladle {command}"), shown.stdout
    wrong = client.run("push", "--no-such-flag")
    assert wrong.code == 2 and "No such option" in wrong.stderr


# What the cf CLI sends for a push, in its order (cf-clients §5c), as method and path shape.
CF_PUSH_SEQUENCE = [
    "POST /v3/spaces/:g/actions/apply_manifest",
    "GET /v3/jobs/:g",
    "GET /v3/apps",
    "POST /v3/resource_matches",
    "POST /v3/packages",
    "POST /v3/packages/:g/upload",
    "GET /v3/packages/:g",
    "POST /v3/builds",
    "GET /v3/builds/:g",
    "PATCH /v3/apps/:g/relationships/current_droplet",
    "POST /v3/apps/:g/actions/restart",
    "GET /v3/apps/:g/processes",
    "GET /v3/processes/:g/stats",
    "GET /v3/apps/:g/routes",
]
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _targeted(api: str, tmp_path: Path) -> Client:
    """A client logged in to ``api`` as admin, targeting a new org and space."""
    client = Client(tmp_path / "config")
    client.ok("login", api, "-u", "admin", "-p", ADMIN_PASSWORD)
    org, space = unique("org"), unique("space")
    client.ok("create-org", org)
    client.ok("create-space", space, "-o", org)
    client.ok("target", "-o", org, "-s", space)
    return client


def test_push_to_an_api_without_ladle_extensions(server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, buildpack = server
    with cf_shaped(running.url) as cf:
        client = _targeted(cf.url, tmp_path)
        name = unique("cf")
        app = _app_dir(tmp_path, name, buildpack)
        cf.requests.clear()
        pushed = client.ok("push", cwd=app)

    # The staging log came from log-cache, and no Ladle-only endpoint was even tried.
    assert "[STG/0] OUT Uploading complete" in pushed.stdout, pushed.stdout
    paths = [f"{method} {GUID.sub(':g', path)}" for method, path in cf.requests]
    assert "GET /api/v1/read/:g" in paths
    assert not [p for p in paths if LADLE_ONLY.match(p.split(" ")[1].replace(":g", "x"))]
    # The rest is the cf CLI's sequence (polls collapsed; a package READY at once needs no poll).
    api = [p for p in paths if not p.startswith("GET /api/v1/")]
    collapsed = [p for i, p in enumerate(api) if i == 0 or api[i - 1] != p]
    expected = (
        CF_PUSH_SEQUENCE
        if "GET /v3/packages/:g" in collapsed
        else [p for p in CF_PUSH_SEQUENCE if p != "GET /v3/packages/:g"]
    )
    assert collapsed == expected
    assert f"url:       https://{name}.apps.localhost" in pushed.stdout  # no router named: CF's https
    wait_until(lambda: _through_router(running, f"{name}.apps.localhost"), 60, "the app through the router")


def test_push_waits_for_instances_on_ladles_stats_stream(server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, buildpack = server
    with cf_shaped(running.url, ladle=True) as recorded:
        client = _targeted(recorded.url, tmp_path)
        app = _app_dir(tmp_path, unique("streamed"), buildpack)
        recorded.requests.clear()
        pushed = client.ok("push", "--json", cwd=app).json()

    assert [i["state"] for i in pushed["instances"]] == ["RUNNING"]
    paths = [f"{method} {GUID.sub(':g', path)}" for method, path in recorded.requests]
    # One request followed the start from STARTING to RUNNING: no polls of the stats.
    assert paths.count("GET /v3/processes/:g/stats/stream") == 1, paths
    assert "GET /v3/processes/:g/stats" not in paths, paths
    assert "GET /v3/builds/:g/logs" in paths


def test_expired_token_is_refreshed(client: Client) -> None:
    config_file = client.config_dir / "config.json"
    config = json.loads(config_file.read_text())
    config["access_token"] = "expired.not-a-jwt.at-all"
    config_file.write_text(json.dumps(config))
    assert isinstance(client.ok("apps", "--json").json(), list)
    refreshed = json.loads(config_file.read_text())["access_token"]
    assert refreshed.count(".") == 2 and refreshed != config["access_token"]
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600


def test_ctrl_c_during_staging_offers_to_cancel(
    client: Client, server: tuple[RunningServer, str], tmp_path: Path
) -> None:
    running, _ = server
    slow = admin_buildpack(
        World(running),
        tmp_path / "slow-bp",
        {**BUILDPACK, "compile": "echo compiling slowly; sleep 120"},
    )["name"]
    name = unique("slow")
    app = _app_dir(tmp_path, name, str(slow))
    push = Interactive(client, "push", cwd=app)
    push.expect("compiling slowly")
    push.process.send_signal(signal.SIGINT)
    push.expect("Cancel the build?")
    push.type("y\n")
    assert push.finish() == 130, push.drawn
    assert "Build cancelled." in push.drawn
    guid = client.ok("app", name, "--json").json()["app"]["guid"]
    (build,) = World(running).admin.get("/v3/builds", params={"app_guids": guid}).json()["resources"]
    assert build["state"] == "FAILED" and "staging was cancelled" in build["error"]


def test_logs_follow_new_lines(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, buildpack = server
    name = unique("tail")
    client.ok("push", cwd=_app_dir(tmp_path, name, buildpack))
    follow = Interactive(client, "logs", name)
    follow.expect("Retrieving logs")
    wait_until(lambda: _through_router(running, f"{name}.apps.localhost", "/hello-there"), 60, "the app")
    follow.expect("served /hello-there")
    follow.process.send_signal(signal.SIGINT)
    assert follow.finish() == 0


def test_login_asks_for_what_is_missing(server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, _ = server
    fresh = Client(tmp_path / "config")
    login = Interactive(fresh, "login", running.url)
    login.expect("Username:")
    login.type("admin\n")
    login.expect("Password:")
    login.type(ADMIN_PASSWORD + "\n")
    assert login.finish() == 0, login.drawn
    assert ADMIN_PASSWORD not in login.drawn  # not echoed
    assert fresh.ok("target", "--json").json()["user"] == "admin"
    refused = Client(tmp_path / "other").run("login", running.url, "-u", "admin", "-p", "wrong")
    assert refused.code == 1 and refused.stderr.strip(), refused.stderr
    assert not (tmp_path / "other" / "config.json").exists()
    fresh.ok("logout")
    assert fresh.run("apps").code == 3


def test_push_a_docker_image_without_starting(
    client: Client, server: tuple[RunningServer, str], tmp_path: Path
) -> None:
    running, _ = server
    admin = World(running).admin
    name, image = unique("docker"), "registry.example:5000/team/server:v1"
    refused = client.run("push", "--name", name, "--docker-image", image, "--no-start", cwd=tmp_path)
    assert refused.code == 1 and "Feature Disabled: diego_docker" in refused.stderr, refused.stderr
    assert admin.patch("/v3/feature_flags/diego_docker", json={"enabled": True}).status_code == 200
    try:
        result = client.ok("push", "--name", name, "--docker-image", image, "--no-start", "--json", cwd=tmp_path).json()
    finally:
        admin.patch("/v3/feature_flags/diego_docker", json={"enabled": False})
    assert (result["state"], result["upload"], result["droplet"]) == ("STOPPED", None, None)
    package = admin.get(f"/v3/packages/{result['package']}").json()
    assert (package["type"], package["state"], package["data"]["image"]) == ("docker", "READY", image)
    assert admin.get(f"/v3/apps/{result['guid']}").json()["lifecycle"]["type"] == "docker"


def test_failures_have_their_exit_codes(client: Client, server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, buildpack = server
    broken = admin_buildpack(World(running), tmp_path / "broken-bp", {**BUILDPACK, "compile": "echo no luck; exit 3"})[
        "name"
    ]
    staging = client.run("push", cwd=_app_dir(tmp_path, unique("nostage"), str(broken)))
    assert staging.code == 4, staging.stderr
    assert "no luck" in staging.stdout and "Error staging application" in staging.stderr

    crashing = client.run("push", "-c", "exit 1", cwd=_app_dir(tmp_path, unique("crash"), buildpack))
    assert crashing.code == 5, crashing.stderr
    assert "Start unsuccessful" in crashing.stderr and "--recent" in crashing.stderr
