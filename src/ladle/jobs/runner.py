"""Running one job: claim its row, run its kind, record the outcome.

This is the only code that changes a job's row after it was created. A claim is a lease: the
runner holding it renews it while the job runs (``Housekeeping`` calls :meth:`JobRunner.renew_leases`),
and a job whose lease ran out (its worker died) can be claimed again by any runner.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import or_, select, update

from ladle.blobstore import Blobstores
from ladle.changes import ChangeSignal
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import Job
from ladle.db.session import Database, rows_changed
from ladle.db.states.job import JobState, move_job
from ladle.errors import UNKNOWN_ERROR, CFError
from ladle.jobs.executor import Executor, JobContext, JobKind

__all__ = ["LEASE_SECONDS", "JobRunner"]

log = logging.getLogger("ladle.jobs")

LEASE_SECONDS = 60
# A job is handed to an executor right after its row commits; one still unclaimed this long
# after creation was lost on the way.
UNCLAIMED_GRACE = 30
ABANDONED = "The job was abandoned: the worker running it stopped before it finished."


class JobRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        blobstores: Blobstores,
        kinds: Mapping[str, JobKind],
        worker_id: str,
        *,
        executor: Executor,
        changes: ChangeSignal | None = None,
    ) -> None:
        self.db = db
        # Told when a job that can change the router's table ends (``JobKind.routing``).
        self.changes = changes or ChangeSignal()
        self.settings = settings
        self.blobstores = blobstores
        self.kinds = kinds
        self.worker_id = worker_id
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        # A job a broker took (``enqueued_at``) but no worker claimed this long after is sent
        # again: the broker may have lost it (a Redis that restarted without persistence). A
        # second delivery is harmless, the lease makes it run once.
        self.requeue_after = timedelta(seconds=settings.job_requeue_seconds)
        # Where jobs started by a job go.
        self.executor = executor
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, guid: str) -> bool:
        """Take the job if it is unfinished and nobody holds a live lease on it."""
        now = utcnow()
        with self.db.session() as s:
            result = s.execute(
                update(Job)
                .where(
                    Job.guid == guid,
                    Job.state == JobState.PROCESSING,
                    or_(Job.claimed_until.is_(None), Job.claimed_until < now, Job.claimed_by == self.worker_id),
                )
                .values(
                    claimed_by=self.worker_id,
                    claimed_until=now + self.lease,
                    attempts=Job.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            s.commit()
            return rows_changed(result) > 0

    def renew_leases(self) -> None:
        """Extend the lease of every job this runner is running."""
        with self._lock:
            guids = list(self._running)
        if not guids:
            return
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.guid.in_(guids), Job.claimed_by == self.worker_id, Job.state == JobState.PROCESSING)
                .values(claimed_until=utcnow() + self.lease)
                .execution_options(synchronize_session=False)
            )
            s.commit()

    def run(self, guid: str) -> None:
        """Claim and run one job; a job someone else holds is left alone, and so is one this
        runner is running already (handed over twice: the claim alone would let this runner
        take its own lease again and count a second attempt)."""
        with self._lock:
            if guid in self._running:
                return
            self._running.add(guid)
        try:
            if self.claim(guid):
                self._run_claimed(guid)
            else:
                # A second delivery: the job runs elsewhere (a live lease) or has finished.
                log.info("job not claimed: held by another worker or finished", extra={"job": guid})
        finally:
            with self._lock:
                self._running.discard(guid)

    def _run_claimed(self, guid: str) -> None:
        with self.db.session() as s:
            job = s.scalars(select(Job).where(Job.guid == guid)).one()
            ctx = JobContext(
                guid=job.guid,
                operation=job.operation,
                resource_guid=job.resource_guid,
                payload=dict(job.payload or {}),
                db=self.db,
                settings=self.settings,
                blobstores=self.blobstores,
                submit=self.executor.submit,
            )
            attempts = job.attempts
        kind = self.kinds.get(ctx.operation)
        if kind is None:
            self._finish(ctx, CFError("ServerError").to_dict(), f"no job kind {ctx.operation!r}")
            return
        if attempts > kind.max_attempts:
            self._fail(kind, ctx, CFError("UnprocessableEntity", ABANDONED), ABANDONED)
            return
        log.info("job started", extra={"job": guid, "operation": ctx.operation, "attempt": attempts})
        try:
            kind.run(ctx)
        except CFError as exc:
            self._fail(kind, ctx, exc, exc.detail)
        except Exception as exc:
            log.error(
                "job crashed",
                extra={"job": guid, "operation": ctx.operation, "traceback": traceback.format_exc()},
            )
            self._fail(kind, ctx, None, str(exc) or type(exc).__name__)
        else:
            self._finish(ctx, None, None)

    def _fail(self, kind: JobKind, ctx: JobContext, error: CFError | None, reason: str) -> None:
        if kind.on_failure is not None:
            try:
                kind.on_failure(ctx, reason)
            except Exception:
                log.error("job failure hook crashed", extra={"job": ctx.guid, "traceback": traceback.format_exc()})
        self._finish(ctx, error.to_dict() if error else dict(UNKNOWN_ERROR), reason)

    def _finish(self, ctx: JobContext, error: dict[str, object] | None, reason: str | None) -> None:
        kind = self.kinds.get(ctx.operation)
        if kind is not None and kind.routing:
            # Before the job reads COMPLETE: the router is asked to look before a client waiting
            # for the job goes on (a failed job may have done part of its work: said then too).
            self.changes.notify()
        with self.db.session() as s:
            move_job(
                s,
                ctx.guid,
                JobState.PROCESSING,
                JobState.FAILED if error else JobState.COMPLETE,
                errors=[error] if error else [],
                claimed_until=None,
            )
            s.commit()
        if error:
            log.warning("job failed", extra={"job": ctx.guid, "operation": ctx.operation, "reason": reason})
        else:
            log.info("job complete", extra={"job": ctx.guid, "operation": ctx.operation})

    def retryable(self, guid: str) -> bool:
        """Whether an abandoned job may start again (it has attempts left)."""
        with self.db.session() as s:
            row = s.execute(select(Job.operation, Job.attempts).where(Job.guid == guid)).first()
        if row is None:
            return False
        kind = self.kinds.get(row[0])
        return kind is not None and row[1] < kind.max_attempts

    def abandoned(self, *, at_startup: bool, limit: int = 100) -> list[str]:
        """Unfinished jobs no live worker holds.

        That is jobs whose lease ran out, jobs never claimed a while after they were created
        (the server stopped between commit and hand-over, or the broker was down), and, at
        start-up only, jobs this worker held before it restarted. A job a broker took is sent
        again only when it has waited there unclaimed for long (``job_requeue_seconds``), or when its
        lease ran out after it was last sent, so a queue of waiting jobs is not flooded with
        copies.
        """
        now = utcnow()
        never_sent = Job.enqueued_at.is_(None)
        unclaimed = Job.claimed_until.is_(None)
        expired = Job.claimed_until < now
        condition = or_(
            expired & (never_sent | (Job.enqueued_at < Job.claimed_until)),
            unclaimed & never_sent & (Job.created_at < now - timedelta(seconds=UNCLAIMED_GRACE)),
            (unclaimed | expired) & (Job.enqueued_at < now - self.requeue_after),
        )
        if at_startup:
            # Before this worker starts, anything it held is certainly abandoned.
            condition = or_(condition, Job.claimed_by == self.worker_id)
        with self.db.session() as s:
            rows = s.scalars(
                select(Job.guid).where(Job.state == JobState.PROCESSING, condition).order_by(Job.id).limit(limit)
            ).all()
        return list(rows)
