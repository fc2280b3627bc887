"""Test fixtures: real servers on real databases (SQLite, PostgreSQL, MariaDB), reached over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cf import World
from tests.support.s3server import S3Server, run_s3_server
from tests.support.server import DATABASES, RunningServer, run_server, worker


@pytest.fixture(scope="session", params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    kind: str = request.param
    data_dir = tmp_path_factory.mktemp(f"ladle-{kind}")
    with run_server(kind, data_dir, f"ladle_test_{worker()}") as running:
        yield running


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3-compatible server (moto's) on loopback, one per test process."""
    with run_s3_server(tmp_path_factory.mktemp("s3")) as running:
        yield running


@pytest.fixture(scope="session")
def world(server: RunningServer) -> World:
    return World(server)


@pytest.fixture(scope="session", params=DATABASES)
def flags_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world on a server of its own, for tests that change feature flags: the shared server
    keeps Cloud Controller's defaults whatever order tests run in. (Its tests share one xdist
    worker, see below, so only one such server starts per database.)"""
    kind: str = request.param
    data_dir = tmp_path_factory.mktemp(f"ladle-flags-{kind}")
    with run_server(kind, data_dir, f"ladle_test_flags_{worker()}") as running:
        yield World(running, owns_flags=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "flags_world" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("flags"))


@pytest.fixture
def org(world: World) -> dict[str, object]:
    return world.org()


@pytest.fixture
def space(world: World, org: dict[str, object]) -> dict[str, object]:
    return world.space(org)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
