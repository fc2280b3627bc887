"""Jobs and sweeps around staging: the staging job (staging, then retention), its failure hook,
the stuck-build sweep, and clearing an app's buildpack cache."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.deletion import delete_blobs
from ladle.actions.jobs import add_job, start_job
from ladle.actions.retention import expire_old_bits
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import App, Build, Job
from ladle.db.session import Database
from ladle.db.states.build import BuildState, fail_build
from ladle.db.usage_events import record_buildpack_set
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.staging.stager import run_staging

__all__ = [
    "fail_expired_builds",
    "fail_staging",
    "request_clear_buildpack_cache",
    "run_build_stage",
    "run_clear_buildpack_cache",
]

log = logging.getLogger("ladle.staging")


def run_build_stage(ctx: JobContext) -> None:
    """The ``build.stage`` job. The build becomes STAGED and the app's old bits EXPIRED in one
    transaction, so no one sees a staged build whose app is over its retention limits."""
    delete_jobs: list[Job] = []

    def expire(session: Session, build_guid: str) -> None:
        record_buildpack_set(session, build_guid)
        app_guid = session.scalar(select(Build.app_guid).where(Build.guid == build_guid))
        job = expire_old_bits(session, ctx.settings, app_guid) if app_guid else None
        if job is not None:
            delete_jobs.append(job)

    run_staging(ctx, on_staged=expire)
    for job in delete_jobs:
        ctx.submit(job.guid)


def fail_staging(ctx: JobContext, reason: str) -> None:
    """The staging job crashed or its worker died for good: the build must not stay STAGING."""
    fail_build(ctx.db, ctx.resource_guid or "", "StagerError", CFError("StagerError", reason).detail)


def fail_expired_builds(db: Database, settings: Settings) -> int:
    """Fail builds still STAGING past the staging timeout plus its grace (their stager is gone)."""
    cutoff = utcnow() - timedelta(seconds=settings.staging_timeout + settings.staging_timeout_grace)
    with db.session() as s:
        stuck = list(s.scalars(select(Build.guid).where(Build.state == BuildState.STAGING, Build.updated_at < cutoff)))
    description = CFError("StagingTimeExpired", "staging failed").detail
    failed = sum(fail_build(db, guid, "StagingTimeExpired", description) for guid in stuck)
    if failed:
        log.warning("failed builds stuck in staging", extra={"builds": failed})
    return failed


def request_clear_buildpack_cache(session: Session, executor: Executor, app: App, user_guid: str) -> Job:
    job = add_job(
        session, "app.clear_buildpack_cache", resource_type="app", resource_guid=app.guid, user_guid=user_guid
    )
    return start_job(session, executor, job)


def run_clear_buildpack_cache(ctx: JobContext) -> None:
    # Every stack's cache of the app: the keys are "<app>/<stack>".
    delete_blobs(ctx.blobstores, [("buildpack_cache", f"{ctx.resource_guid}/")])
