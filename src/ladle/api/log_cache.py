"""The log-cache API the cf CLI reads staging output from (``/api/v1/info``, ``/api/v1/read``)."""

from __future__ import annotations

import base64
import time
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import readable_app
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.logs import read_lines
from ladle.errors import CFError

__all__ = ["routes"]

STARTED = time.time()
MAX_LIMIT = 1000


def info(_ctx: RequestContext) -> Response:
    return cf_json({"version": "2.12.0", "vm_uptime": str(int(time.time() - STARTED))})


def _int(ctx: RequestContext, name: str, default: int) -> int:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise CFError("BadQueryParameter", f"{name} must be an integer") from None


def read(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("source_id"))
    limit = _int(ctx, "limit", 100)
    if not 1 <= limit <= MAX_LIMIT:
        raise CFError("BadQueryParameter", f"limit must be between 1 and {MAX_LIMIT}")
    types = [v for k, v in ctx.query.pairs if k == "envelope_types"]
    if types and not {"LOG", "ANY"} & set(types):
        return cf_json({"envelopes": {"batch": []}})
    rows = read_lines(
        ctx.db,
        app.guid,
        start=_int(ctx, "start_time", 0),
        end=_int(ctx, "end_time", time.time_ns() + 1),
        limit=limit,
        descending=(ctx.query.get("descending") or "").lower() == "true",
    )
    batch: list[dict[str, Any]] = [
        {
            "timestamp": str(row.timestamp),
            "source_id": app.guid,
            "instance_id": row.instance_id,
            "deprecated_tags": {},
            "tags": {"source_type": row.source_type, "app_id": app.guid, "app_name": app.name},
            "log": {"payload": base64.b64encode(row.message.encode()).decode(), "type": row.stream},
        }
        for row in rows
    ]
    return cf_json({"envelopes": {"batch": batch}})


def routes() -> list[BaseRoute]:
    return [
        get("/api/v1/info", info, access="public"),
        get("/api/v1/read/{source_id}", read),
    ]
