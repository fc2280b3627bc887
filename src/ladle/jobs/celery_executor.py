"""The Celery executor: jobs go through a broker (Redis or RabbitMQ) to ``ladle worker`` processes.

A job is still a row in Ladle's database, the only truth for ``/v3/jobs``; the broker carries
only its guid. What makes that safe:

- **Never lost.** :meth:`CeleryExecutor.submit` never blocks a request on the broker: a
  publisher thread sends the guid, retrying while the broker is away, and records
  ``jobs.enqueued_at`` once the broker took it. Should the process die first, the sweep
  (``JobRunner.abandoned``) finds the job unclaimed and sends it again from any node.
- **Runs once.** A message delivered twice finds the job claimed (the lease) or finished, and
  is dropped; within one worker process a guid already running is dropped too.
- **A killed worker's job goes on.** Tasks are acknowledged late (``acks_late``) and rejected if
  the worker is lost, so the broker gives them to another worker; and when the killed worker's
  lease runs out, the sweep sends the job again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from celery import Celery
from sqlalchemy import select, update

from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import Job
from ladle.db.session import Database

__all__ = ["QUEUES", "CeleryExecutor", "queue_for"]

log = logging.getLogger("ladle.jobs")

TASK = "ladle.run_job"
# The queues a worker can be told to consume: staging (long, CPU- and disk-heavy) and the rest.
QUEUES = ("staging", "default")
STAGING_OPERATIONS = frozenset({"build.stage"})
# A publish that keeps failing is retried this long; after that the sweep takes over.
RETRY_FOR = 120.0


def queue_for(operation: str) -> str:
    return "staging" if operation in STAGING_OPERATIONS else "default"


def make_celery(settings: Settings) -> Celery:
    app = Celery("ladle", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per worker thread: a waiting job stays in the broker, where
        # another worker can take it.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=f"{settings.celery_queue_prefix}.default",
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Publishing gives up quickly: the publisher thread retries, and the sweep is behind it.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # No remote control (its per-worker queues): Ladle's workers are driven by the database.
        worker_enable_remote_control=False,
        # Redis: an unacknowledged message comes back after this long (the lease sweep usually
        # hands a dead worker's job on much sooner).
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app


class CeleryExecutor:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.prefix = settings.celery_queue_prefix
        self.app = make_celery(settings)
        self._run_job: Callable[[str], None] | None = None
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._outbox: list[tuple[str, float]] = []  # (guid, first try)
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._publisher: threading.Thread | None = None
        self.app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)(self._consume_one)

    # --- the API side: publishing --------------------------------------------------------------
    def start(self, run_job: Callable[[str], None]) -> None:
        self._run_job = run_job
        self._publisher = threading.Thread(target=self._publish_loop, name="ladle-publisher", daemon=True)
        self._publisher.start()

    def submit(self, job_guid: str) -> None:
        with self._wake:
            self._outbox.append((job_guid, time.monotonic()))
            self._wake.notify()

    def _publish_loop(self) -> None:
        backoff = 0.5
        while True:
            with self._wake:
                while not self._outbox and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                batch, self._outbox = self._outbox, []
            failed = [(guid, since) for guid, since in batch if not self._publish(guid)]
            if not failed:
                backoff = 0.5
                continue
            now = time.monotonic()
            kept = [(guid, since) for guid, since in failed if now - since < RETRY_FOR]
            with self._wake:
                self._outbox[:0] = kept
                # Wait before trying again, unless asked to stop.
                self._wake.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _publish(self, guid: str) -> bool:
        try:
            operation = self._operation(guid)
            if operation is None:
                return True  # finished or gone: nothing to send
            self.app.send_task(TASK, args=[guid], queue=f"{self.prefix}.{queue_for(operation)}")
        except Exception as exc:
            log.warning("could not hand a job to the broker", extra={"job": guid, "error": str(exc)})
            return False
        try:
            with self.db.session() as s:
                s.execute(
                    update(Job)
                    .where(Job.guid == guid)
                    .values(enqueued_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                s.commit()
        except Exception as exc:
            # Sent all the same; unrecorded, the sweep may send it once more (a harmless duplicate).
            log.warning("could not record a job's hand-over", extra={"job": guid, "error": str(exc)})
        return True

    def _operation(self, guid: str) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(Job.operation).where(Job.guid == guid, Job.state == "PROCESSING"))

    def shutdown(self, wait: bool = True) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if wait and self._publisher is not None:
            self._publisher.join(5)

    # --- the worker side: consuming ------------------------------------------------------------
    def _consume_one(self, guid: str) -> None:
        if self._run_job is None:
            raise RuntimeError("the executor was not started")
        with self._lock:
            if guid in self._in_flight:
                log.info("duplicate delivery dropped", extra={"job": guid})
                return
            self._in_flight.add(guid)
        try:
            self._run_job(guid)
        finally:
            with self._lock:
                self._in_flight.discard(guid)

    def consume(self, queues: Sequence[str], concurrency: int, name: str) -> None:
        """Run a Celery worker in this process until it is told to stop (SIGTERM, SIGINT)."""
        argv: list[str] = [
            "worker",
            "--queues",
            ",".join(f"{self.prefix}.{queue}" for queue in queues),
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        self.app.worker_main(argv)
