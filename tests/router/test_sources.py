"""Route sources: the file source (as ``ladle router`` runs it, in its own process) and its
format; the reloader's behaviour on a failing source."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ladle.router import FileRouteSource, Route, RouteSourceError, Snapshot, StaticRouteSource, wait_for_router
from ladle.router.source import dump_routes, routes_from_document
from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter, endpoint, eventually
from tests.support.services import free_port


def test_file_source_versions_follow_content(tmp_path: Path) -> None:
    path = tmp_path / "routes.yml"
    path.write_text("routes:\n- host: a.test\n  endpoints: [{port: 1000, app_guid: g}]\n")
    source = FileRouteSource(path)
    assert source.version() == 1
    assert source.snapshot().routes[0].endpoints[0].port == 1000
    path.write_text("routes:\n- host: a.test\n  endpoints: [{port: 1000, app_guid: g}]\n\n")
    assert source.version() == 1  # touched, same table
    path.write_text("routes: [{host: a.test, path: /x, endpoints: []}]\n")
    assert source.version() == 2
    path.write_text("routes: [{host: a.test, endpoints: [{port: nope}]}]\n")
    assert source.version() == 2  # a broken file keeps the last good table
    assert source.last_error is not None and "port" in source.last_error
    assert source.snapshot().routes[0].path == "/x"


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"routes": {}}, "expected"),
        ({"routes": [{"endpoints": []}]}, "routes[0].host: missing"),
        ({"routes": [{"host": "a", "path": "x"}]}, "must start with /"),
        ({"routes": [{"host": "a", "options": {"loadbalancing": "random"}}]}, "loadbalancing"),
        ({"routes": [{"host": "a", "endpoints": [{"port": 70000, "app_guid": "g"}]}]}, "out of range"),
        ({"routes": [{"host": "a", "endpoints": [{"port": True, "app_guid": "g"}]}]}, "expected int"),
    ],
)
def test_file_format_errors(document: object, error: str) -> None:
    with pytest.raises(RouteSourceError, match=error.replace("[", r"\[").replace("]", r"\]")):
        routes_from_document(document)


def test_dump_and_read_back() -> None:
    routes = (Route("a.test", "/p", {"loadbalancing": "least-connection"}, (endpoint(1234, 2),)),)
    import json

    assert routes_from_document(json.loads(dump_routes(routes))) == routes


def test_ladle_router_command(tmp_path: Path, app_backend: Callable[[str], AppBackend]) -> None:
    one, two = app_backend("one"), app_backend("two")
    routes = tmp_path / "routes.json"
    routes.write_text(dump_routes([Route("cli.apps.test", "", {}, (endpoint(one.port),))]))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADLE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ladle", "router", "--routes", str(routes)],
        env={**env, "LADLE_ROUTER_PORT": str(port), "LADLE_ROUTER_POLL_INTERVAL": "0.05"},
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        status = eventually(lambda: _status(url), timeout=30, what="the router to answer")
        assert status["applied_version"] == 1
        assert httpx.get(url + "/echo", headers={"Host": "cli.apps.test"}).json()["name"] == "one"
        routes.write_text(dump_routes([Route("cli.apps.test", "", {}, (endpoint(two.port),))]))
        wait_for_router(url, 2, timeout=10)
        assert httpx.get(url + "/echo", headers={"Host": "cli.apps.test"}).json()["name"] == "two"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"router listening on http://127.0.0.1:{port}" in stderr


def test_ladle_router_rejects_a_bad_file(tmp_path: Path) -> None:
    routes = tmp_path / "routes.json"
    routes.write_text('{"routes": [{"host": 1}]}')
    result = subprocess.run(
        [sys.executable, "-m", "ladle", "router", "--routes", str(routes)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "routes[0].host: expected str" in result.stderr


class FlakySource:
    """A real in-memory source that can be made to fail, as a database can."""

    def __init__(self, routes: list[Route]) -> None:
        self.inner = StaticRouteSource(routes)
        self.failing = False

    def version(self) -> int:
        if self.failing:
            raise ConnectionError("database is down")
        return self.inner.version()

    def snapshot(self) -> Snapshot:
        return self.inner.snapshot()


def test_failing_source_keeps_the_table(
    router_with: Callable[..., RunningRouter], app_backend: Callable[[str], AppBackend]
) -> None:
    backend = app_backend("kept")
    source = FlakySource([Route("kept.apps.test", "", {}, (endpoint(backend.port),))])
    running = router_with(source=source, poll_interval=0.02)
    source.failing = True
    eventually(lambda: _status(running.url)["source_error"] == "database is down", what="the error")  # type: ignore[index]
    assert httpx.get(running.url + "/echo", headers={"Host": "kept.apps.test"}).json()["name"] == "kept"
    source.inner.replace([])
    source.failing = False
    wait_for_router(running.url, 2)
    assert httpx.get(running.url + "/echo", headers={"Host": "kept.apps.test"}).status_code == 404
    assert _status(running.url)["source_error"] is None  # type: ignore[index]


def _status(url: str) -> dict[str, object] | None:
    try:
        response = httpx.get(url + "/status", headers={"Host": "_ladle_router"}, timeout=1)
    except httpx.TransportError:
        return None
    result: dict[str, object] = response.json()
    return result
