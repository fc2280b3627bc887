"""``/v3/jobs``, and housekeeping's recovery of abandoned jobs with the in-process executor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ladle.actions.jobs import add_job
from ladle.blobstore import local_blobstores
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db import migrate
from ladle.db.lookup import by_guid
from ladle.db.models import Job
from ladle.db.session import Database
from ladle.errors import CFError
from ladle.jobs.executor import JobContext, JobKind
from ladle.jobs.housekeeping import Housekeeping
from ladle.jobs.inprocess import InProcessExecutor
from ladle.jobs.runner import JobRunner
from tests.support.cf import World
from tests.support.waiting import wait_until


def test_unknown_job_and_auth(world: World) -> None:
    r = world.admin.get("/v3/jobs/nope")
    assert r.status_code == 404
    assert r.json()["errors"][0]["detail"] == "Job not found"
    assert world.api().get("/v3/jobs/nope").status_code == 401


def test_any_reader_can_read_any_job(world: World) -> None:
    app = world.app()
    location = world.admin.delete(f"/v3/apps/{app['guid']}").headers["location"]
    world.admin.wait_for_job(location)
    _, name = world.new_user()
    assert world.login_as(name).get(location).status_code == 200


def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate.upgrade(db.engine)
    return db


def _wait_done(db: Database, guid: str) -> Job:
    def finished() -> Job | None:
        with db.session() as s:
            job = by_guid(s, Job, guid)
            assert job is not None
            return job if job.state != "PROCESSING" else None

    return wait_until(finished, timeout=10, interval=0.02, message=guid)


def test_abandoned_jobs_are_resumed_or_failed_at_start(tmp_path: Path) -> None:
    db = _database(tmp_path)
    ran: list[str] = []
    failures: list[tuple[str, str]] = []

    def work(ctx: JobContext) -> None:
        ran.append(ctx.guid)

    def boom(ctx: JobContext) -> None:
        raise CFError("UnprocessableEntity", "it broke")

    kinds = {
        "retryable": JobKind("retryable", work, max_attempts=3),
        "once": JobKind("once", work, max_attempts=1, on_failure=lambda ctx, why: failures.append((ctx.guid, why))),
        "broken": JobKind("broken", boom),
    }
    with db.session() as s:
        # Held by a worker that died mid-job (its lease ran out).
        retry = add_job(s, "retryable")
        once = add_job(s, "once")
        broken = add_job(s, "broken")
        s.flush()
        for job in (retry, once):
            job.claimed_by, job.claimed_until, job.attempts = (
                "dead-worker",
                utcnow() - timedelta(seconds=5),
                1,
            )
        guids = (retry.guid, once.guid, broken.guid)
        s.commit()
    stores = local_blobstores(tmp_path / "blobs")
    executor = InProcessExecutor(workers=2)
    runner = JobRunner(db, Settings(data_dir=tmp_path), stores, kinds, "me", executor=executor)
    housekeeping = Housekeeping(runner, executor)
    executor.start(runner.run)
    housekeeping.start()
    executor.submit(guids[2])
    try:
        done = {g: _wait_done(db, g) for g in guids}
    finally:
        housekeeping.stop()
        executor.shutdown()
    assert done[guids[0]].state == "COMPLETE" and ran == [guids[0]]
    assert done[guids[1]].state == "FAILED"
    assert failures and failures[0][0] == guids[1]
    assert done[guids[2]].errors == [{"detail": "it broke", "title": "CF-UnprocessableEntity", "code": 10008}]
