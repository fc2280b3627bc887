"""Fixtures for the router: real backends on loopback ports and a router in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import pytest

from tests.router.backends import AppBackend
from tests.router.harness import RunningRouter


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


def _stopped_afterwards(make: Callable[..., S]) -> Iterator[Callable[..., S]]:
    started: list[S] = []

    def start(*args: Any, **kwargs: Any) -> S:
        started.append(make(*args, **kwargs))
        return started[-1]

    yield start
    for thing in started:
        thing.stop()


@pytest.fixture
def app_backend() -> Iterator[Callable[..., AppBackend]]:
    """Backends by name (``app_backend("a")``), each a uvicorn server on its own port."""
    yield from _stopped_afterwards(lambda name="backend": AppBackend(name).start())


@pytest.fixture
def router_with() -> Iterator[Callable[..., RunningRouter]]:
    """Routers with options of the test's own (timeouts, sinks, sources), stopped afterwards."""
    yield from _stopped_afterwards(RunningRouter)


@pytest.fixture
def router(router_with: Callable[..., RunningRouter]) -> RunningRouter:
    return router_with()
