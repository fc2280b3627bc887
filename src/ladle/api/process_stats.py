"""What runs for a process: ``stats`` and ``process_instances``, read from reported instances.

``GET /v3/processes/:guid/stats/stream`` is Ladle's addition (advertised in the root document as
``ladle_process_stats_stream``; CF has none): the stats once at once, then again whenever an
instance's state changes, one JSON document per line, until every instance is RUNNING or every
one CRASHED, the process wants none, or STREAM_LIMIT passes. A client waiting for a start gets the
change as soon as the runner reports it, in one request instead of a poll every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from ladle.api.guards import readable_process
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.instances import instances_by_index
from ladle.db.models import Process
from ladle.db.session import Database
from ladle.presenters.process_stats import present_process_instances, present_stats

__all__ = ["STREAM_LIMIT", "routes"]

# How often the stream looks at the reported instances when no change is signalled (a runner on
# another node cannot signal; this node's runner wakes it at once), and for how long at most (a
# client that still waits asks again).
STREAM_POLL = 0.05
STREAM_LIMIT = 120.0


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


def _snapshot(db: Database, process_guid: str) -> tuple[list[dict[str, Any]], bool] | None:
    """The stats' entries now, and whether they have settled (None once the process is gone)."""
    with db.session() as s:
        process = s.query(Process).filter_by(guid=process_guid).one_or_none()
        if process is None:
            return None
        reported = instances_by_index(s, [process])[process.guid]
        resources = present_stats(process, reported, _now()).resources
        states = {str(entry["state"]) for entry in resources}
        settled = process.state != "STARTED" or not resources or states in ({"RUNNING"}, {"CRASHED"})
        return resources, settled


def stats_stream(ctx: RequestContext) -> StreamingResponse:
    process, _, _ = readable_process(ctx)
    db, guid, changes = ctx.deps.db, process.guid, ctx.deps.services.changes

    async def body() -> AsyncIterator[bytes]:
        deadline = time.monotonic() + STREAM_LIMIT
        shown: list[tuple[Any, Any]] | None = None
        while True:
            snapshot = await run_in_threadpool(_snapshot, db, guid)
            if snapshot is None:
                return
            resources, settled = snapshot
            states = [(entry["index"], entry["state"]) for entry in resources]
            if states != shown:
                shown = states
                yield orjson.dumps({"resources": resources}) + b"\n"
            if settled or time.monotonic() > deadline:
                return
            await changes.wait(STREAM_POLL)

    return StreamingResponse(body(), media_type="application/x-ndjson", headers={"Cache-Control": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        get("/v3/processes/{guid}/stats", stats),
        get("/v3/processes/{guid}/stats/stream", stats_stream),
        get("/v3/apps/{guid}/processes/{type}/stats", stats),
        get("/v3/processes/{guid}/process_instances", process_instances),
    ]
