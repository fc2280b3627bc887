"""PostgreSQL at scale: with 100,000 apps (and as many processes, packages, builds, droplets,
routes and destinations) the list endpoints' queries read through indexes, never a whole table.

The rows are written by SQL straight into the server's database, then the test calls the real
endpoints and runs ``EXPLAIN`` on every statement the server sent while answering.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from tests.support.cf import Api, World
from tests.support.server import DATABASES, run_server, worker

ROWS = 100_000
SPACES = 1_000
ORGS = 100
# Tables that grow with the apps: a plan may read none of them whole.
BIG = {"apps", "processes", "packages", "builds", "droplets", "routes", "route_destinations"}

pytestmark = [
    pytest.mark.skipif("postgresql" not in DATABASES, reason="LADLE_TEST_DATABASES has no postgresql"),
    # One xdist worker seeds the rows once for all of them.
    pytest.mark.xdist_group("scale_plans"),
]

SEED = [
    """INSERT INTO organizations (guid, name, suspended, created_at, updated_at)
       SELECT 'scale-org-' || o, 'org-' || o, false, now() - o * interval '1 second', now()
       FROM generate_series(0, :orgs - 1) o""",
    """INSERT INTO spaces (guid, name, organization_guid, created_at, updated_at)
       SELECT 'scale-space-' || s, 'space-' || s, 'scale-org-' || (s % :orgs), now() - s * interval '1 second', now()
       FROM generate_series(0, :spaces - 1) s""",
    """INSERT INTO apps (guid, name, space_guid, state, lifecycle_type, buildpacks, environment_variables,
                         droplet_guid, created_at, updated_at)
       SELECT 'scale-app-' || g, 'app-' || g, 'scale-space-' || (g % :spaces), 'STOPPED', 'buildpack', '[]', '{}',
              'scale-drop-' || g, now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO processes (guid, app_guid, type, version, instances, memory_in_mb, disk_in_mb, log_rate_limit,
                              health_check_type, readiness_health_check_type, state, created_at, updated_at)
       SELECT 'scale-app-' || g, 'scale-app-' || g, 'web', 'v' || g, 1, 256, 1024, -1, 'port', 'process',
              'STOPPED', now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO packages (guid, app_guid, type, state, created_at, updated_at)
       SELECT 'scale-pkg-' || g, 'scale-app-' || g, 'bits', 'READY', now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO builds (guid, app_guid, package_guid, state, staging_memory_in_mb, staging_disk_in_mb,
                           staging_log_rate_limit, lifecycle_type, buildpacks, environment_variables,
                           droplet_guid, created_at, updated_at)
       SELECT 'scale-build-' || g, 'scale-app-' || g, 'scale-pkg-' || g, 'STAGED', 1024, 4096, -1, 'buildpack',
              '[]', '{}', 'scale-drop-' || g, now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO droplets (guid, app_guid, package_guid, build_guid, state, lifecycle_type, buildpack_receipts,
                             execution_metadata, sidecars, created_at, updated_at)
       SELECT 'scale-drop-' || g, 'scale-app-' || g, 'scale-pkg-' || g, 'scale-build-' || g, 'STAGED',
              'buildpack', '[]', '', '[]', now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO routes (guid, host, path, protocol, domain_guid, space_guid, options, created_at, updated_at)
       SELECT 'scale-route-' || g, 'host-' || g, '', 'http', :domain, 'scale-space-' || (g % :spaces), '{}',
              now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
    """INSERT INTO route_destinations (guid, route_guid, app_guid, process_type, created_at, updated_at)
       SELECT 'scale-dest-' || g, 'scale-route-' || g, 'scale-app-' || g, 'web', now() - g * interval '1 second', now()
       FROM generate_series(1, :rows) g""",
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with run_server("postgresql", tmp_path_factory.mktemp("scale"), f"ladle_test_scale_{worker()}") as running:
        world = World(running)
        domain = world.admin.get("/v3/domains").json()["resources"][0]
        engine = create_engine(running.settings.effective_database_url)
        with engine.begin() as conn:
            for statement in SEED:
                conn.execute(text(statement), {"orgs": ORGS, "domain": domain["guid"], "rows": ROWS, "spaces": SPACES})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()
        yield world


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the server sends while the block runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# A query may read this many rows of a big table: a page and the index entries around it, not
# a table (the seeded tables have ROWS rows; one space holds ROWS / SPACES apps).
MOST_ROWS_READ = 1_000


@dataclass
class Scan:
    """One node of a plan that reads a big table, and how many rows it went through."""

    node: str
    table: str
    index: str | None
    rows_read: int

    def __str__(self) -> str:
        using = f" using {self.index}" if self.index else ""
        return f"{self.node} on {self.table}{using}: {self.rows_read} rows read"


def scans(plan: dict[str, Any]) -> list[Scan]:
    """The scans of big tables in an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan."""
    found = []
    if plan.get("Relation Name") in BIG:
        loops = int(plan.get("Actual Loops", 1))
        read = (int(plan.get("Actual Rows", 0)) + int(plan.get("Rows Removed by Filter", 0))) * loops
        found.append(Scan(str(plan["Node Type"]), str(plan["Relation Name"]), plan.get("Index Name"), read))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def explained(world: World, api: Api, path: str, params: dict[str, str]) -> list[tuple[str, list[Scan]]]:
    """Call ``path``, then run every SELECT it sent again under ``EXPLAIN ANALYZE``."""
    engine = world.server.deps.db.engine
    with statements(engine) as seen:
        r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    listed = r.json()["destinations" if path.endswith("/destinations") else "resources"]
    assert listed, f"{path} listed nothing: the test would prove nothing"
    out = []
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for statement, parameters in seen:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            row = cursor.fetchone()
            assert row is not None
            plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
            out.append((statement, scans(plan[0]["Plan"])))
        conn.rollback()
    return out


def assert_indexed(
    world: World, api: Api, path: str, params: dict[str, str] | None = None, *, counts_may_scan: bool = False
) -> None:
    """No statement behind ``path`` reads a big table through (by a sequential scan, or by an
    index walked end to end with a filter), except, with ``counts_may_scan``, the total's count."""
    slow = [
        (statement, found)
        for statement, found in explained(world, api, path, params or {})
        if not (counts_may_scan and _counts(statement))
        and any(scan.node == "Seq Scan" or scan.rows_read > MOST_ROWS_READ for scan in found)
    ]
    assert not slow, "\n\n".join("; ".join(map(str, found)) + "\n" + statement for statement, found in slow)


def _counts(statement: str) -> bool:
    """A statement for a total: a count, or a difference of counts (a droplet list counts all its
    filters find less the STAGING droplets)."""
    return statement.startswith(("SELECT count(*)", "SELECT (SELECT count(*)"))


@pytest.fixture(scope="module")
def developer(seeded: World) -> Api:
    """A space developer in one space of the thousand."""
    return seeded.as_role("space_developer", {"guid": "scale-org-7"}, {"guid": "scale-space-7"})


@pytest.mark.parametrize(
    "path",
    ["/v3/apps", "/v3/processes", "/v3/packages", "/v3/builds", "/v3/droplets", "/v3/routes", "/v3/spaces"],
)
def test_a_space_developer_lists_through_indexes(seeded: World, developer: Api, path: str) -> None:
    assert_indexed(seeded, developer, path)


@pytest.mark.parametrize(
    "path",
    [
        "/v3/apps/scale-app-7/processes",
        "/v3/apps/scale-app-7/packages",
        "/v3/apps/scale-app-7/builds",
        "/v3/apps/scale-app-7/droplets",
        "/v3/apps/scale-app-7/routes",
        "/v3/routes/scale-route-7/destinations",
    ],
)
def test_the_lists_of_one_app_use_indexes(seeded: World, developer: Api, path: str) -> None:
    assert_indexed(seeded, developer, path)
    assert_indexed(seeded, seeded.admin, path)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v3/apps", {"names": "app-77"}),
        ("/v3/apps", {"space_guids": "scale-space-7"}),
        ("/v3/apps", {"guids": "scale-app-7,scale-app-8"}),
        ("/v3/processes", {"app_guids": "scale-app-7"}),
        ("/v3/packages", {"app_guids": "scale-app-7"}),
        ("/v3/builds", {"app_guids": "scale-app-7"}),
        ("/v3/droplets", {"app_guids": "scale-app-7"}),
        ("/v3/routes", {"hosts": "host-7"}),
        ("/v3/routes", {"space_guids": "scale-space-7"}),
        ("/v3/routes", {"app_guids": "scale-app-7"}),
    ],
)
def test_an_admins_filtered_lists_use_indexes(seeded: World, path: str, params: dict[str, str]) -> None:
    assert_indexed(seeded, seeded.admin, path, params)


@pytest.mark.parametrize("path", ["/v3/apps", "/v3/processes", "/v3/packages", "/v3/builds", "/v3/droplets"])
def test_an_admins_first_page_reads_an_index_in_order(seeded: World, path: str) -> None:
    """Counting every row for ``total_results`` reads them all, as Cloud Controller's count does;
    the page itself is read in order from an index and stops after ``per_page`` rows."""
    assert_indexed(seeded, seeded.admin, path, counts_may_scan=True)
    assert_indexed(seeded, seeded.admin, path, {"order_by": "-created_at"}, counts_may_scan=True)
