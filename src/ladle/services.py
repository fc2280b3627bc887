"""The composition root: every long-lived part of a Ladle node, built once from :class:`Settings`.

This is the one place where backends are chosen (``settings.blobstore``, ``settings.executor``)
and parts are wired to each other. ``ladle serve`` wraps a :class:`Services` in the ASGI app
(``ladle.app``); a process that only runs jobs (a future ``ladle worker``) builds the same
:class:`Services`, calls :meth:`Services.start`, and never imports the web layer. A new part (an
app runner, a router) gets its ``make_*`` function here, chosen by a setting the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ladle.actions.job_kinds import job_kinds
from ladle.actions.recovery import recover_at_startup, sweep_orphan_blobs
from ladle.actions.staging_jobs import fail_expired_builds
from ladle.blobstore import Blobstores, local_blobstores
from ladle.bootstrap import prepare_database
from ladle.changes import ChangeSignal
from ladle.config import ConfigError, Settings
from ladle.db.logs import prune_log_lines
from ladle.db.revocation import prune_revoked
from ladle.db.session import Database
from ladle.jobs.executor import Executor, PeriodicTask
from ladle.jobs.housekeeping import Housekeeping
from ladle.jobs.inprocess import InProcessExecutor
from ladle.jobs.runner import JobRunner
from ladle.runner.base import Runner
from ladle.runner.local import LocalRunner, RunnerOptions
from ladle.sandbox import SandboxConfig

__all__ = [
    "Services",
    "build_services",
    "make_app_runner",
    "make_blobstores",
    "make_executor",
    "node_id",
    "periodic_tasks",
]

# Orphan blobs younger than this are spared: they may belong to a write whose row is not
# committed yet (on this node or another).
ORPHAN_GRACE = timedelta(hours=1)
# Unfinished writes older than this belong to a node that died and never came back.
STALE_WRITE = timedelta(days=1)


@dataclass
class Services:
    settings: Settings
    # Who this node is: job leases and temporary blob writes carry it.
    node_id: str
    db: Database
    blobstores: Blobstores
    executor: Executor
    runner: JobRunner
    housekeeping: Housekeeping
    # Runs app instances and tasks on this node (None where the node runs none).
    app_runner: Runner | None = None
    # Notified when this node commits an instance's state (its app runner), a route's
    # destinations (the API) or a job that changes routing: the stats stream and the router look
    # again at once.
    changes: ChangeSignal = field(default_factory=ChangeSignal)

    def start(self) -> None:
        """Put straight what this node left behind, then run jobs, housekeeping and apps."""
        recover_at_startup(self.settings, self.db, self.blobstores, self.runner, orphan_grace=ORPHAN_GRACE)
        self.executor.start(self.runner.run)
        self.housekeeping.start()
        if self.app_runner is not None:
            self.app_runner.start()

    def stop(self) -> None:
        if self.app_runner is not None:
            self.app_runner.shutdown()
        self.housekeeping.stop()
        self.executor.shutdown(wait=False)
        self.db.dispose()


def node_id(settings: Settings) -> str:
    """This host and data directory, in characters safe in file names and keys."""
    return settings.node_id


def make_blobstores(settings: Settings, node: str) -> Blobstores:
    match settings.blobstore:
        case "local":
            return local_blobstores(settings.blobstore_root, node)
        case "s3":
            # Imported here: boto3 costs a node on local blobs start-up time for nothing.
            from ladle.blobstore.s3 import s3_blobstores

            return s3_blobstores(settings)
        case other:
            raise ConfigError(f"unknown blobstore {other!r}")


def make_executor(settings: Settings, db: Database) -> Executor:
    match settings.executor:
        case "inprocess":
            return InProcessExecutor(workers=settings.job_workers)
        case "celery":
            # Imported here: Celery and its broker clients are only for nodes that use them.
            from ladle.jobs.celery_executor import CeleryExecutor

            return CeleryExecutor(settings, db)
        case other:
            raise ConfigError(f"unknown executor {other!r}")


def make_app_runner(
    settings: Settings, db: Database, blobstores: Blobstores, node: str, changes: ChangeSignal | None = None
) -> Runner | None:
    match settings.runner:
        case "local":
            options = RunnerOptions(
                node=node,
                work_dir=settings.data_dir / "runner",
                cf_api=settings.effective_external_url,
                sandbox=SandboxConfig.from_settings(settings),
                insecure_docker_registries=settings.insecure_docker_registries,
                private_docker_registries=settings.private_docker_registries,
                max_docker_image_size=settings.max_docker_image_size,
            )
            return LocalRunner(db, blobstores.droplets, options, changes=changes)
        case "none":
            return None
        case other:
            raise ConfigError(f"unknown runner {other!r}")


def periodic_tasks(db: Database, blobstores: Blobstores, settings: Settings) -> list[PeriodicTask]:
    def prune_tokens() -> None:
        with db.session() as s:
            prune_revoked(s)

    def prune_logs() -> None:
        with db.session() as s:
            prune_log_lines(s, settings.max_log_lines_per_app)

    return [
        PeriodicTask("orphan-blobs", 3600, lambda: sweep_orphan_blobs(db, blobstores, ORPHAN_GRACE)),
        PeriodicTask("stale-writes", 6 * 3600, lambda: blobstores.sweep_temporaries(STALE_WRITE)),
        PeriodicTask("revoked-tokens", 3600, prune_tokens),
        PeriodicTask("expired-builds", 60, lambda: fail_expired_builds(db, settings)),
        PeriodicTask("log-lines", 600, prune_logs),
    ]


def build_services(settings: Settings) -> Services:
    """Every part, migrated and wired, not yet started."""
    db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
    prepare_database(settings, db)
    node = node_id(settings)
    blobstores = make_blobstores(settings, node)
    executor = make_executor(settings, db)
    changes = ChangeSignal()
    runner = JobRunner(db, settings, blobstores, job_kinds(), node, executor=executor, changes=changes)
    housekeeping = Housekeeping(
        runner,
        executor,
        periodic_tasks(db, blobstores, settings),
        sweep_interval=settings.job_sweep_interval,
        cluster=db,
    )
    app_runner = make_app_runner(settings, db, blobstores, node, changes)
    return Services(settings, node, db, blobstores, executor, runner, housekeeping, app_runner, changes)
