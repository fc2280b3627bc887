"""Two API processes on one database: what they race for, exactly one of them gets.

Each side is a whole server (its own engine, connection pool, job executor and signing key) on
the same database, as two ``ladle serve`` processes behind a load balancer are. Requests are
released together by a barrier and sent to both servers alternately.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from ladle.actions.jobs import add_job
from ladle.db.models import Build, Droplet, Job
from ladle.db.session import Database
from ladle.db.states.build import fail_build, stage_build
from ladle.jobs.executor import JobContext, JobKind
from ladle.jobs.inprocess import InProcessExecutor
from ladle.jobs.runner import JobRunner
from tests.staging.helpers import admin_buildpack, ready_package, wait_for_build
from tests.support.cf import Api, World, unique
from tests.support.rows import staging_build
from tests.support.server import DATABASES, run_server, worker

# One xdist worker starts the pair of servers once per database for all of them.
pytestmark = pytest.mark.xdist_group("scale_races")

T = TypeVar("T")
RELEASE = 'printf "default_process_types:\\n  web: ./run\\n"\n'
RACERS = 6
ROUNDS = 3


@dataclass
class Pair:
    a: World
    b: World

    def apis(self) -> list[Api]:
        """One admin client per racer, alternating between the servers."""
        return [(self.a, self.b)[i % 2].admin for i in range(RACERS)]


@pytest.fixture(scope="module", params=DATABASES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    kind: str = request.param
    name = f"ladle_test_races_{worker()}"
    with run_server(kind, tmp_path_factory.mktemp(f"race-a-{kind}"), name) as a:
        url = a.settings.effective_database_url
        # One blob directory for both, as a shared file system would give them: whichever
        # server stages a build finds the package the other one stored.
        b_dir = tmp_path_factory.mktemp(f"race-b-{kind}")
        (b_dir / "blobs").symlink_to(a.settings.blobstore_root)
        with run_server(kind, b_dir, name, database_url=url) as b:
            yield Pair(World(a), World(b))


def race(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call at the same moment, each on a thread of its own."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def one_winner(responses: list[httpx.Response], error: dict[str, Any]) -> httpx.Response:
    """Exactly one 201; every other racer got ``error`` (a CF 422, never a 500 or a second row)."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [422] * (len(responses) - 1), [r.text for r in responses]
    for r in responses:
        if r.status_code == 422:
            assert r.json()["errors"] == [error]
    return next(r for r in responses if r.status_code == 201)


def post_all(apis: list[Api], path: str, body: dict[str, Any]) -> list[httpx.Response]:
    return race([partial(api.post, path, json=body) for api in apis])


def test_one_organization_per_name(pair: Pair) -> None:
    for _ in range(ROUNDS):
        name = unique("org")
        responses = post_all(pair.apis(), "/v3/organizations", {"name": name})
        one_winner(
            responses,
            {"detail": f"Organization '{name}' already exists.", "title": "CF-UnprocessableEntity", "code": 10008},
        )
        listed = pair.b.admin.get("/v3/organizations", params={"names": name}).json()["resources"]
        assert len(listed) == 1


def test_one_space_per_name_in_an_organization(pair: Pair) -> None:
    org = pair.a.org()
    for _ in range(ROUNDS):
        name = unique("space")
        body = {"name": name, "relationships": {"organization": {"data": {"guid": org["guid"]}}}}
        one_winner(
            post_all(pair.apis(), "/v3/spaces", body),
            {
                "detail": "Name must be unique per organization",
                "title": "CF-UnprocessableEntity",
                "code": 10008,
            },
        )


def test_one_app_per_name_in_a_space_whatever_the_case(pair: Pair) -> None:
    space = pair.a.space()
    for _ in range(ROUNDS):
        name = unique("app")
        # The racers spell the name differently: names are unique whatever their case.
        body = {"relationships": {"space": {"data": {"guid": space["guid"]}}}}
        calls = [
            partial(api.post, "/v3/apps", json={"name": name if i % 2 else name.upper(), **body})
            for i, api in enumerate(pair.apis())
        ]
        responses = race(calls)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [422] * (RACERS - 1), [r.text for r in responses]
        for r in responses:
            if r.status_code == 422:
                error = r.json()["errors"][0]
                assert error["title"] == "CF-UniquenessError"
                assert error["detail"] in {
                    f"App with the name '{name}' already exists.",
                    f"App with the name '{name.upper()}' already exists.",
                }
        apps = pair.b.admin.get("/v3/apps", params={"space_guids": space["guid"]}).json()["resources"]
        assert sum(1 for a in apps if a["name"].lower() == name.lower()) == 1


def test_one_route_per_host_whatever_the_case(pair: Pair) -> None:
    space = pair.a.space()
    domain = pair.a.admin.get("/v3/domains").json()["resources"][0]
    for _ in range(ROUNDS):
        host = unique("h")
        rel = {"space": {"data": {"guid": space["guid"]}}, "domain": {"data": {"guid": domain["guid"]}}}
        calls = [
            partial(api.post, "/v3/routes", json={"host": host if i % 2 else host.upper(), "relationships": rel})
            for i, api in enumerate(pair.apis())
        ]
        responses = race(calls)
        assert sorted(r.status_code for r in responses) == [201] + [422] * (RACERS - 1), [r.text for r in responses]
        for r in responses:
            if r.status_code == 422:
                assert r.json()["errors"][0]["title"] == "CF-UnprocessableEntity"
                assert r.json()["errors"][0]["detail"].startswith("Route already exists with host '")


def test_one_staging_build_per_app(pair: Pair, tmp_path: Path) -> None:
    space = pair.a.space()
    # Staging lasts long enough that every racer finds the winner's build still STAGING.
    slow = admin_buildpack(pair.a, tmp_path, {"compile": "sleep 3\n", "release": RELEASE})
    lifecycle = {"type": "buildpack", "data": {"buildpacks": [slow["name"]]}}
    for _ in range(2):
        app = pair.a.app(space)
        package = ready_package(pair.a, app, {"run": "x"})
        responses = post_all(pair.apis(), "/v3/builds", {"package": {"guid": package}, "lifecycle": lifecycle})
        winner = one_winner(
            responses,
            {
                "detail": "Only one build can be STAGING at a time per application.",
                "title": "CF-StagingInProgress",
                "code": 170017,
            },
        )
        builds = pair.b.admin.get(f"/v3/apps/{app['guid']}/builds").json()["resources"]
        assert [b["guid"] for b in builds] == [winner.json()["guid"]]
        assert wait_for_build(pair.b.admin, winner.json()["guid"])["state"] == "STAGED"


def test_a_job_runs_once_however_many_runners_are_handed_it(pair: Pair) -> None:
    """Runners of two nodes, each handed the job twice at once (an executor's retry and the
    sweep of abandoned jobs can do that): the job runs exactly once."""
    settings = pair.a.server.settings
    databases = [Database(settings.effective_database_url), Database(settings.effective_database_url)]
    runs: list[str] = []
    lock = threading.Lock()

    def count(ctx: JobContext) -> None:
        with lock:
            runs.append(ctx.guid)
        threading.Event().wait(0.3)  # still running when the other deliveries arrive

    kind = JobKind("test.count", count)
    runners = [
        JobRunner(
            db,
            settings,
            pair.a.server.deps.blobstores,
            {kind.operation: kind},
            f"race-node-{i}",
            executor=InProcessExecutor(workers=1),
        )
        for i, db in enumerate(databases)
    ]
    try:
        for _ in range(ROUNDS):
            with databases[0].session() as s:
                job = add_job(s, kind.operation)
                s.commit()
                guid = job.guid
            race([partial(runners[i % 2].run, guid) for i in range(RACERS)])
            assert runs.count(guid) == 1
            with databases[1].session() as s:
                row = s.scalars(select(Job).where(Job.guid == guid)).one()
                assert (row.state, row.attempts) == ("COMPLETE", 1)
    finally:
        for db in databases:
            db.dispose()


def _stage(db: Database, guid: str) -> bool:
    with db.session() as s:
        won = stage_build(s, guid, make_current=False, process_types={"web": "./run"})
        s.commit()
        return won


def _cancel(db: Database, guid: str) -> bool:
    return fail_build(db, guid, "StagingError", "cancelled")


def test_a_build_ends_one_way_when_a_stager_and_a_cancel_race(pair: Pair) -> None:
    """Staging finishing on one node while a cancel (or the overdue sweep) fails the build on
    the other: one of them wins, and the build and its droplet agree."""
    app = pair.a.app()
    databases = [pair.a.server.deps.db, pair.b.server.deps.db]
    for _ in range(ROUNDS):
        guid, _ = staging_build(databases[0], app["guid"])
        calls = [partial((_stage, _cancel)[i % 2], databases[(i // 2) % 2], guid) for i in range(RACERS)]
        assert sum(race(calls)) == 1
        with databases[1].session() as s:
            states = (
                s.scalar(select(Build.state).where(Build.guid == guid)),
                s.scalar(select(Droplet.state).where(Droplet.build_guid == guid)),
            )
        assert states in {("STAGED", "STAGED"), ("FAILED", "FAILED")}
