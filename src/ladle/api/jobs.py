"""``GET /v3/jobs/:guid``: any caller with read scope may read any job."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.lookup import by_guid, resource_exists
from ladle.db.models import Job
from ladle.errors import CFError
from ladle.presenters.job import present_job

__all__ = ["routes"]


def show_job(ctx: RequestContext) -> Response:
    job = by_guid(ctx.db, Job, ctx.param("guid"))
    if job is None:
        raise CFError("ResourceNotFound", "Job not found")
    exists = resource_exists(ctx.db, job.resource_type, job.resource_guid)
    return cf_json(present_job(job, ctx.urls, resource_exists=exists))


def routes() -> list[BaseRoute]:
    return [get("/v3/jobs/{guid}", show_job)]
