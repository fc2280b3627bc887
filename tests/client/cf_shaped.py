"""A Cloud Foundry-shaped API in front of a real Ladle: the root document without Ladle's own
links, ``/v3/info`` without Ladle's router, Ladle-only endpoints answered as CF answers an
unknown route, absolute links rewritten to point here, and every request recorded. A client
that works through it needs nothing CF lacks. With ``ladle=True`` it is Ladle as it is, recorded
(answers are passed on whole, so a stream comes through once it has ended)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.services import free_port

__all__ = ["CfShaped", "cf_shaped"]

LADLE_ONLY = re.compile(r"^/v3/(builds/[^/]+/(logs|actions/cancel)|processes/[^/]+/stats/stream)$")
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class CfShaped:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)


def _app(upstream: str, shaped: CfShaped, ladle: bool) -> Starlette:
    http = httpx.AsyncClient(base_url=upstream, timeout=120)

    async def forward(request: Request) -> Response:
        path = request.url.path
        shaped.requests.append((request.method, path))
        if LADLE_ONLY.match(path) and not ladle:
            body = {"errors": [{"detail": "Unknown request", "title": "CF-NotFound", "code": 10000}]}
            return JSONResponse(body, status_code=404)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = await http.request(
            request.method, path, params=request.query_params, content=await request.body(), headers=headers
        )
        content = answer.content.replace(upstream.encode(), shaped.url.encode())
        if path == "/" and not ladle:
            document = httpx.Response(200, content=content).json()
            document["links"] = {k: v for k, v in document["links"].items() if not k.startswith("ladle_")}
            return JSONResponse(document)
        if path == "/v3/info" and not ladle:  # CF's custom block is the operator's; not Ladle's router
            return JSONResponse({**httpx.Response(200, content=content).json(), "custom": {}})
        out = {k: v.replace(upstream, shaped.url) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(content, status_code=answer.status_code, headers=out)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@contextmanager
def cf_shaped(upstream: str, *, ladle: bool = False) -> Iterator[CfShaped]:
    port = free_port()
    shaped = CfShaped(f"http://127.0.0.1:{port}")
    app = _app(upstream, shaped, ladle)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="cf-shaped", daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        yield shaped
    finally:
        server.should_exit = True
        thread.join(timeout=10)
