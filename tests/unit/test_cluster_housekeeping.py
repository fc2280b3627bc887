"""Housekeeping across nodes sharing one database (SQLite and PostgreSQL): a periodic task runs
once per interval across the cluster, never on two nodes at once; and the sweep for lost jobs
does not send a job the broker already holds again and again."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from ladle.actions.jobs import add_job
from ladle.blobstore import local_blobstores
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db import migrate
from ladle.db.housekeeping_locks import release_turn, take_turn
from ladle.db.models import Job
from ladle.db.session import Database
from ladle.jobs.executor import PeriodicTask
from ladle.jobs.housekeeping import Housekeeping
from ladle.jobs.inprocess import InProcessExecutor
from ladle.jobs.runner import JobRunner
from tests.support.server import DATABASES, drop_database, fresh_database_url


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    name = f"ladle_test_housekeeping_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    database = Database(fresh_database_url(request.param, name, tmp_path))
    migrate.upgrade(database.engine)
    yield database
    database.dispose()
    drop_database(request.param, name)


def test_a_turn_is_taken_once_per_interval_across_nodes(db: Database) -> None:
    hour, hold = timedelta(hours=1), timedelta(minutes=10)
    assert take_turn(db, "orphan-blobs", "node-a", hour, hold)
    # Node B asks while A runs, and after A finished: the interval counts from A's start.
    assert not take_turn(db, "orphan-blobs", "node-b", hour, hold)
    release_turn(db, "orphan-blobs", "node-a")
    assert not take_turn(db, "orphan-blobs", "node-b", hour, hold)
    # Another task has turns of its own.
    assert take_turn(db, "log-lines", "node-b", hour, hold)
    # With a zero interval, a task still held (running) is not started twice ...
    assert not take_turn(db, "log-lines", "node-a", timedelta(0), hold)
    # ... until its holder releases it, or its hold runs out (the holder died).
    release_turn(db, "log-lines", "node-b")
    assert take_turn(db, "log-lines", "node-a", timedelta(0), timedelta(seconds=-1))
    assert take_turn(db, "log-lines", "node-b", timedelta(0), hold)


def test_many_nodes_asking_at_once_run_a_task_once(db: Database, tmp_path: Path) -> None:
    runs: list[str] = []
    lock = threading.Lock()
    nodes = []
    for n in range(4):
        settings = Settings(data_dir=tmp_path / f"node{n}")
        executor = InProcessExecutor(workers=1)
        runner = JobRunner(db, settings, local_blobstores(tmp_path / f"blobs{n}"), {}, f"node-{n}", executor=executor)

        def record(name: str = f"node-{n}") -> None:
            with lock:
                runs.append(name)

        nodes.append(Housekeeping(runner, executor, [PeriodicTask("sweep", 3600, record)], cluster=db))
    barrier = threading.Barrier(len(nodes))

    def tick(node: Housekeeping) -> None:
        barrier.wait()
        node._run_periodic(node.periodic[0])

    threads = [threading.Thread(target=tick, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(runs) == 1, runs


def test_a_job_the_broker_holds_is_not_sent_again_until_it_is_overdue(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, job_requeue_seconds=300)
    executor = InProcessExecutor(workers=1)
    runner = JobRunner(db, settings, local_blobstores(tmp_path / "blobs"), {}, "node-a", executor=executor)
    long_ago = utcnow() - timedelta(minutes=2)
    with db.session() as s:
        never_sent = add_job(s, "x")
        sent = add_job(s, "x")
        overdue = add_job(s, "x")
        expired_after_send = add_job(s, "x")
        expired_resent = add_job(s, "x")
        s.flush()
        guids = [j.guid for j in (never_sent, sent, overdue, expired_after_send, expired_resent)]
        s.commit()
    values: dict[str, dict[str, Any]] = {
        guids[0]: {"created_at": long_ago},  # the broker was down: never handed over
        guids[1]: {"created_at": long_ago, "enqueued_at": long_ago},  # waiting in the queue
        guids[2]: {"created_at": long_ago, "enqueued_at": utcnow() - timedelta(minutes=6)},  # lost by it
        # Its worker died after it was sent: send it again, once.
        guids[3]: {"enqueued_at": long_ago, "claimed_until": utcnow() - timedelta(seconds=5), "claimed_by": "x"},
        guids[4]: {
            "enqueued_at": utcnow() - timedelta(seconds=2),
            "claimed_until": utcnow() - timedelta(seconds=5),
            "claimed_by": "x",
        },
    }
    with db.session() as s:
        for guid, row in values.items():
            s.execute(update(Job).where(Job.guid == guid).values(**row))
        s.commit()
    assert set(runner.abandoned(at_startup=False)) == {guids[0], guids[2], guids[3]}
