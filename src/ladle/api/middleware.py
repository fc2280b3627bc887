"""ASGI middleware: the ``X-VCAP-Request-ID`` header and one structured access-log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware", "request_id_for"]

log = logging.getLogger("ladle.access")

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def request_id_for(incoming: str | None) -> str:
    """CF keeps a sanitised caller-supplied id in front of its own: ``<theirs>::<uuid>``."""
    fresh = str(uuid.uuid4())
    if incoming is None:
        return fresh
    return f"{_UNSAFE.sub('', incoming)[:255]}::{fresh}"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = request_id_for(headers.get("x-vcap-request-id") or headers.get("x-request-id"))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Appended as raw pairs: the response never carries these already.
                extra = [(b"x-vcap-request-id", request_id.encode("latin-1"))]
                user_guid = state.get("user_guid")
                if user_guid:
                    extra.append((b"x-user-guid", user_guid.encode("latin-1")))
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                    "user_guid": state.get("user_guid"),
                },
            )
