"""Fixtures for the router: real backends on loopback ports and a router in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter


@pytest.fixture
def app_backend() -> Iterator[Callable[[str], AppBackend]]:
    started: list[AppBackend] = []

    def start(name: str = "backend") -> AppBackend:
        backend = AppBackend(name).start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()


@pytest.fixture
def router() -> Iterator[RunningRouter]:
    running = RunningRouter()
    yield running
    running.stop()
