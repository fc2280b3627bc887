"""The log-cache API the cf CLI reads staging output from (``/api/v1/info``, ``/api/v1/read``)."""

from __future__ import annotations

import time

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import readable_app
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.logs import read_lines
from ladle.messages.log_read import parse_log_read
from ladle.presenters.log_cache import present_envelopes, present_log_cache_info

__all__ = ["routes"]

STARTED = time.time()


def info(_ctx: RequestContext) -> Response:
    return cf_json(present_log_cache_info(int(time.time() - STARTED)))


def read(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("source_id"))
    msg = parse_log_read(ctx.query, now_ns=time.time_ns())
    if not msg.wants_logs:
        return cf_json(present_envelopes(app, []))
    rows = read_lines(ctx.db, app.guid, start=msg.start, end=msg.end, limit=msg.limit, descending=msg.descending)
    return cf_json(present_envelopes(app, rows))


def routes() -> list[BaseRoute]:
    return [
        get("/api/v1/info", info, access="public"),
        get("/api/v1/read/{source_id}", read),
    ]
