"""Fixtures of the hostile-client suite: the endpoints of the shared server and a victim's resources."""

from __future__ import annotations

import pytest

from tests.hostile.endpoints import Endpoint, Victim, endpoints, make_victim
from tests.support.cf import World


@pytest.fixture(scope="session")
def all_endpoints(world: World) -> list[Endpoint]:
    return endpoints(world.server)


@pytest.fixture(scope="session")
def victim(world: World) -> Victim:
    return make_victim(world)
