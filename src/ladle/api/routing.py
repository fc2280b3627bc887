"""How a route runs: authenticate, read the body, call the handler on a worker thread, render.

Handlers are plain synchronous functions of a :class:`RequestContext`. They get a database
session that lives as long as the request, raise :class:`CFError` for anything a client should
see, and return a :class:`starlette.responses.Response`. Everything else (the scope gate, the
error envelope, turning crashes into ``UnknownError``) happens here, once.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ladle.api.deps import Deps
from ladle.api.uploads import receive_form
from ladle.auth.identity import Identity
from ladle.auth.tokens import InvalidToken
from ladle.config import Settings
from ladle.db.permissions import Permissions
from ladle.db.revocation import is_revoked
from ladle.errors import UNKNOWN_ERROR, CFError, render_error
from ladle.messages.query import QueryString
from ladle.urls import Urls

__all__ = [
    "JsonBody",
    "RequestContext",
    "cf_json",
    "delete",
    "error_response",
    "get",
    "no_content",
    "patch",
    "post",
    "put",
]

log = logging.getLogger("ladle.api")

MAX_JSON_BODY = 10 * 1024 * 1024
JsonBody = dict[str, Any]
Access = Literal["public", "token", "scoped"]


@dataclass
class RequestContext:
    deps: Deps
    method: str
    path: str
    path_params: dict[str, str]
    query: QueryString
    headers: Headers
    body: bytes
    identity: Identity | None
    db: Session
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def perms(self) -> Permissions:
        if self.identity is None:
            raise CFError("NotAuthenticated")
        return Permissions(self.db, self.identity)

    @property
    def user(self) -> Identity:
        if self.identity is None:
            raise CFError("NotAuthenticated")
        return self.identity

    @property
    def urls(self) -> Urls:
        return self.deps.urls

    def param(self, name: str) -> str:
        return self.path_params[name]

    def json(self) -> JsonBody:
        """The body as a JSON object.

        Unparseable JSON is Cloud Controller's MessageParseError. A body that parses to
        something other than an object reaches the message as ``{"_json": value}`` (what Rails
        hands CC), so it fails validation as an unknown field rather than crashing anything.
        """
        if not self.body.strip():
            return {}
        try:
            parsed = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise CFError("MessageParseError", "invalid request body") from None
        return parsed if isinstance(parsed, dict) else {"_json": parsed}


Handler = Callable[[RequestContext], Response]


def cf_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def no_content(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def error_response(error: CFError, headers: dict[str, str] | None = None) -> Response:
    return cf_json(render_error([error]), status=error.status, headers=headers)


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CFError("InvalidAuthToken")
    return token.strip()


def authenticate(deps: Deps, headers: Headers) -> Identity | None:
    token = _bearer(headers)
    if token is None:
        return None
    try:
        identity = deps.verifier.verify(token)
    except InvalidToken:
        raise CFError("InvalidAuthToken") from None
    return identity


def scope_gate(identity: Identity | None, method: str) -> Identity:
    if identity is None:
        raise CFError("NotAuthenticated")
    allowed = identity.may_read() if method in {"GET", "HEAD"} else identity.may_write()
    if not allowed:
        raise CFError("NotAuthorized")
    return identity


async def read_json_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise CFError("MessageParseError", "request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def endpoint(handler: Handler, *, access: Access = "scoped") -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler into a Starlette endpoint.

    ``access`` is ``public`` (no token read at all), ``token`` (any
    valid token) or ``scoped`` (a valid token that passes Cloud Controller's scope gate).
    """

    async def run(request: Request) -> Response:
        deps: Deps = request.app.state.deps
        try:
            body = await read_json_body(request) if request.method not in {"GET", "HEAD", "DELETE"} else b""
        except CFError as exc:
            return error_response(exc)
        return await run_in_threadpool(_call, deps, handler, access, request, body)

    run.__name__ = handler.__name__
    return run


@dataclass(frozen=True)
class UploadSpec:
    """Which multipart fields of an upload are files, and how large they may be."""

    file_fields: frozenset[str]
    max_bytes: Callable[[Settings], int]
    too_large: Callable[[Settings], CFError]


def upload_endpoint(handler: Handler, spec: UploadSpec) -> Callable[[Request], Awaitable[Response]]:
    """Like :func:`endpoint`, for multipart uploads: the token is checked before the body is read,
    file parts stream to scratch files, and the handler finds the form in ``ctx.extras["form"]``.

    A handler that keeps an uploaded file moves it away (or drops it from the form); whatever
    is left when the handler returns is deleted.
    """

    async def run(request: Request) -> Response:
        deps: Deps = request.app.state.deps
        refused = await run_in_threadpool(_gate, deps, request)
        if refused is not None:
            return refused
        settings = deps.settings
        try:
            form = await receive_form(
                request,
                settings.scratch_dir / "uploads",
                file_fields=spec.file_fields,
                max_file_bytes=spec.max_bytes(settings),
                too_large=lambda: spec.too_large(settings),
            )
        except CFError as exc:
            return error_response(exc)
        try:
            return await run_in_threadpool(_call, deps, handler, "scoped", request, b"", extras={"form": form})
        finally:
            form.discard()

    run.__name__ = handler.__name__
    return run


def _gate(deps: Deps, request: Request) -> Response | None:
    try:
        with deps.db.session() as session:
            identity = authenticate(deps, request.headers)
            scope_gate(identity, request.method)
            if identity is not None and is_revoked(session, identity.jti):
                raise CFError("InvalidAuthToken")
    except CFError as exc:
        return error_response(exc)
    return None


def _call(
    deps: Deps,
    handler: Handler,
    access: Access,
    request: Request,
    body: bytes,
    *,
    extras: dict[str, Any] | None = None,
) -> Response:
    try:
        with deps.db.session() as session:
            identity = None if access == "public" else authenticate(deps, request.headers)
            if access == "scoped":
                scope_gate(identity, request.method)
            elif access == "token" and identity is None:
                raise CFError("NotAuthenticated")
            if identity is not None:
                if is_revoked(session, identity.jti):
                    raise CFError("InvalidAuthToken")
                deps.seen_users.ensure(session, identity)
            ctx = RequestContext(
                deps=deps,
                method=request.method,
                path=request.url.path,
                path_params=dict(request.path_params),
                query=QueryString(request.url.query),
                headers=request.headers,
                body=body,
                identity=identity,
                db=session,
                extras=extras or {},
            )
            request.state.user_guid = identity.user_guid if identity else None
            return handler(ctx)
    except CFError as exc:
        return error_response(exc)
    except Exception:
        if deps.settings.debug:
            raise
        log.error("unexpected error", extra={"path": request.url.path, "traceback": traceback.format_exc()})
        return cf_json({"errors": [UNKNOWN_ERROR]}, status=500)


def _route(method: str) -> Callable[..., Route]:
    def make(path: str, handler: Handler, *, access: Access = "scoped") -> Route:
        return Route(path, endpoint(handler, access=access), methods=[method], name=f"{method} {path}")

    return make


get = _route("GET")
post = _route("POST")
patch = _route("PATCH")
put = _route("PUT")
delete = _route("DELETE")
