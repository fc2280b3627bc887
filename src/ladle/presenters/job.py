"""Job JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.models import Job
from ladle.db.states.job import JobState
from ladle.urls import Urls, link

__all__ = ["present_job"]


def present_job(job: Job, urls: Urls, *, resource_exists: bool) -> dict[str, Any]:
    links: dict[str, Any] = {"self": link(urls.v3("jobs", job.guid))}
    if resource_exists and job.resource_type and job.resource_guid:
        links[job.resource_type] = link(urls.v3(job.resource_type + "s", job.resource_guid))
    return {
        "guid": job.guid,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "operation": job.operation,
        "state": job.state,
        "errors": [] if job.state == JobState.COMPLETE else list(job.errors or []),
        "warnings": list(job.warnings or []),
        "links": links,
    }
