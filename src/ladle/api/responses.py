"""Responses several routes share."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ladle.api.routing import RequestContext, cf_json, no_content
from ladle.db.models import Job

__all__ = ["accepted_job"]


def accepted_job(ctx: RequestContext, job: Job, body: Any = None) -> Response:
    """202 with ``Location`` pointing at the job; with a body only where CC sends one."""
    headers = {"Location": ctx.urls.v3("jobs", job.guid)}
    if body is None:
        return no_content(202, headers)
    return cf_json(body, status=202, headers=headers)
