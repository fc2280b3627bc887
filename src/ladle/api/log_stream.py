"""Following a build's staging output live over plain HTTP (Ladle's addition; CF has none).

``GET /v3/builds/:guid/logs`` answers with a chunked ``text/plain`` body, one line per log
line in the format the cf CLI prints, and ends when the build has finished and its last line
is out. With ``Accept: text/event-stream`` the same lines come as server-sent events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from ladle.api.routing import RequestContext
from ladle.db.logs import build_lines_after
from ladle.db.models import LogLine
from ladle.db.session import Database
from ladle.db.states.build import BuildState
from ladle.presenters.build_log import present_log_line

__all__ = ["stream_build_log"]

POLL = 0.25


def _next(db: Database, build_guid: str, after: int) -> tuple[list[LogLine], str | None]:
    with db.session() as s:
        return build_lines_after(s, build_guid, after)


def stream_build_log(ctx: RequestContext, build_guid: str) -> StreamingResponse:
    db = ctx.deps.db
    sse = "text/event-stream" in ctx.headers.get("accept", "")

    async def body() -> AsyncIterator[bytes]:
        after = 0
        while True:
            rows, state = await run_in_threadpool(_next, db, build_guid, after)
            for row in rows:
                text = present_log_line(row)
                yield (f"data: {text}\n\n" if sse else text + "\n").encode()
            if rows:
                after = rows[-1].id
                continue
            if state != BuildState.STAGING:
                # The stager stores every line before it ends the build: nothing more will come.
                if sse:
                    yield f"event: end\ndata: {state}\n\n".encode()
                return
            await asyncio.sleep(POLL)

    media_type = "text/event-stream" if sse else "text/plain; charset=utf-8"
    return StreamingResponse(body(), media_type=media_type, headers={"Cache-Control": "no-cache"})
