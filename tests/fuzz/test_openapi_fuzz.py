"""Schemathesis against a live server, driven by the server's own ``/openapi.json``: random
bodies, parameters and junk for every operation, as an admin. No answer may be a 5xx, and every
error must be Cloud Controller's envelope (as the document says of every 4xx and 5xx)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.hostile.endpoints import Endpoint, Victim, make_victim
from tests.support.cf import World
from tests.support.matchers import is_cf_error
from tests.support.server import DATABASES, run_server, worker

# Bounded: a few examples per operation, no shrinking hunt (a failure is reported as found).
# LADLE_FUZZ_EXAMPLES asks for more, for a longer hunt by hand.
EXAMPLES = int(os.environ.get("LADLE_FUZZ_EXAMPLES", "3"))


@pytest.fixture(scope="module", params=DATABASES)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # A server of its own: the fuzzer changes feature flags, stacks and buildpacks as it pleases.
    # PostgreSQL refuses what SQLite lets pass (NUL characters, values too long for a column).
    kind: str = request.param
    with run_server(kind, tmp_path_factory.mktemp(f"fuzz-{kind}"), f"ladle_test_fuzz_{worker()}") as server:
        yield World(server)


@pytest.fixture(scope="module")
def api_schema(fuzzed: World) -> Any:
    document = httpx.get(f"{fuzzed.server.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=fuzzed.server.url)
    return schema


def cf_envelope(_ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is Cloud Controller's envelope, whatever its content type claims."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        assert is_cf_error(body), f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    return None


def no_server_error(_ctx: Any, response: Any, case: Any) -> bool | None:
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
    return None


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


CHECKS = [no_server_error, cf_envelope, response_schema_conformance]

# Ladle's stats stream stays open until the instances settle, and no runner runs the victim's
# instances here: at the victim's real process it would only wait out its limit. Random guids
# still reach it; tests/processes/test_stats.py follows it at real processes.
LONG_LIVED = frozenset({"/v3/processes/{guid}/stats/stream"})


def _fuzzer(operation: Any, victim: Victim, headers: dict[str, str]) -> Callable[[], None]:
    """A Hypothesis test of one operation: bodies and parameters the document allows, and ones it
    does not. Random guids only ever meet a 404, so each case is also sent at the victim's real
    resources (except deletes, which would take them away from the operations after)."""
    endpoint = Endpoint(operation.method.upper(), operation.path, "scoped")
    negative = schemathesis.GenerationMode.NEGATIVE

    @FUZZ_SETTINGS
    @given(case=st.one_of(operation.as_strategy(), operation.as_strategy(generation_mode=negative)))
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
        if endpoint.params and endpoint.method != "DELETE" and operation.path not in LONG_LIVED:
            case.path_parameters = {
                name: victim.guids.get(endpoint.collection, "") if name == "guid" else victim.values[name]
                for name in endpoint.params
            }
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    return fuzz


def test_fuzz_every_operation(fuzzed: World, api_schema: Any) -> None:
    # schemathesis's own pytest plugin does not run on this pytest; its Python API does the same.
    headers = {"Authorization": f"bearer {fuzzed.admin.token}"}
    victim = make_victim(fuzzed)
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzzer(operation, victim, headers)()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations > 100
    assert failures == [], "\n\n".join(failures)


def test_the_document_describes_the_route_table(fuzzed: World) -> None:
    document = httpx.get(f"{fuzzed.server.url}/openapi.json").json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert ("POST", "/v3/organizations") in operations and ("GET", "/openapi.json") in operations
    assert not any(path.startswith("/oauth") for _method, path in operations)  # UAA's API is not CF's
    body = document["paths"]["/v3/organizations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "nullable": True},
            "suspended": {"type": "boolean", "nullable": True},
            "metadata": {"type": "object", "nullable": True},
        },
        "additionalProperties": False,
    }
    upload = document["paths"]["/v3/packages/{guid}/upload"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["bits"] == {"type": "string", "format": "binary"}
    names = [p["name"] for p in document["paths"]["/v3/apps"]["get"]["parameters"]]
    assert names[:6] == ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids"]
