"""What runs for a process: ``stats`` and ``process_instances``, read from reported instances."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote_plus

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import readable_process
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.instances import instances_by_index
from ladle.presenters.process_stats import present_process_instances, present_stats

__all__ = ["routes"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stats(ctx: RequestContext) -> Response:
    process, _, _ = readable_process(ctx)
    reported = instances_by_index(ctx.db, [process])[process.guid]
    result = present_stats(process, reported, _now())
    # Form-encoded, as Cloud Controller's CGI.escape writes warnings.
    headers = {"X-Cf-Warnings": ",".join(quote_plus(w) for w in result.warnings)} if result.warnings else None
    return cf_json({"resources": result.resources}, headers=headers)


def process_instances(ctx: RequestContext) -> Response:
    process, _, _ = readable_process(ctx)
    reported = instances_by_index(ctx.db, [process])[process.guid]
    return cf_json(present_process_instances(process, reported, _now(), ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/processes/{guid}/stats", stats),
        get("/v3/apps/{guid}/processes/{type}/stats", stats),
        get("/v3/processes/{guid}/process_instances", process_instances),
    ]
