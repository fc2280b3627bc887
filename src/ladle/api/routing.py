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
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ladle.api.body import Pace, paced_stream
from ladle.api.deps import Deps
from ladle.api.uploads import receive_form
from ladle.auth.identity import Identity
from ladle.auth.tokens import InvalidToken
from ladle.config import Settings
from ladle.db.permissions import Permissions
from ladle.db.revocation import bearer_refused
from ladle.errors import UNKNOWN_ERROR, CFError, render_error, render_v2_error
from ladle.messages.base import Fields
from ladle.messages.lists import ListSpec
from ladle.messages.query import QueryString
from ladle.urls import Urls

__all__ = [
    "JsonBody",
    "RequestContext",
    "RouteDoc",
    "access_of",
    "cf_json",
    "delete",
    "doc_of",
    "error_response",
    "get",
    "no_content",
    "patch",
    "post",
    "put",
    "v2_error_response",
]

log = logging.getLogger("ladle.api")

MAX_JSON_BODY = 10 * 1024 * 1024
JsonBody = dict[str, Any]
Access = Literal["public", "token", "scoped"]


@dataclass(frozen=True)
class RouteDoc:
    """What a route takes, declared where the route is: read by the OpenAPI document
    (``api/openapi.py``) and the hostile-client tests."""

    access: Access = "public"
    # The JSON body's fields (the message's own declaration, which also refuses any other field).
    body: Fields | None = None
    # The list's query parameters.
    query: ListSpec | None = None
    # A multipart upload's file fields.
    files: frozenset[str] = frozenset()


_DOCS: weakref.WeakKeyDictionary[Callable[..., Any], RouteDoc] = weakref.WeakKeyDictionary()


def doc_of(endpoint: Callable[..., Any]) -> RouteDoc:
    """What a route's endpoint takes; endpoints not built here are public and take nothing."""
    return _DOCS.get(endpoint, RouteDoc())


def access_of(endpoint: Callable[..., Any]) -> Access:
    return doc_of(endpoint).access


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
        # No text column can hold a NUL (PostgreSQL refuses it outright), and no name needs one.
        if b"\\u0000" in self.body and _holds_nul(parsed):
            raise CFError("MessageParseError", "invalid request body")
        return parsed if isinstance(parsed, dict) else {"_json": parsed}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


Handler = Callable[[RequestContext], Response]


def cf_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson: pages of thousands of resources are encoded several times faster than by the stdlib.
    payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return Response(payload, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def no_content(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def error_response(error: CFError, headers: dict[str, str] | None = None) -> Response:
    return cf_json(render_error([error]), status=error.status, headers=headers)


def v2_error_response(error: CFError, headers: dict[str, str] | None = None) -> Response:
    """An error of a ``/v2`` endpoint, in the v2 shape the v6 code of the v7 CLI decodes."""
    return cf_json(render_v2_error(error), status=error.status, headers=headers)


ErrorRenderer = Callable[[CFError], Response]


def body_error_response(error: CFError, render: ErrorRenderer | None = None) -> Response:
    """An error met while the body was still arriving: the rest of it is not read, so the
    connection cannot carry another request."""
    response = (render or error_response)(error)
    response.headers["Connection"] = "close"
    return response


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


async def read_json_body(request: Request, pace: Pace) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in paced_stream(request, pace):
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise CFError("MessageParseError", "request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def endpoint(
    handler: Handler,
    *,
    access: Access = "scoped",
    render: ErrorRenderer = error_response,
    body: Fields | None = None,
    query: ListSpec | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler into a Starlette endpoint.

    ``access`` is ``public`` (no token read at all), ``token`` (any
    valid token) or ``scoped`` (a valid token that passes Cloud Controller's scope gate).
    """

    async def run(request: Request) -> Response:
        deps: Deps = request.app.state.deps
        try:
            reads_body = request.method not in {"GET", "HEAD", "DELETE"}
            body = await read_json_body(request, Pace.of(deps.settings)) if reads_body else b""
        except CFError as exc:
            return body_error_response(exc, render)
        return await run_in_threadpool(_call, deps, handler, access, request, body, render=render)

    run.__name__ = handler.__name__
    _DOCS[run] = RouteDoc(access, body, query)
    return run


@dataclass(frozen=True)
class UploadSpec:
    """Which multipart fields of an upload are files, and how large they may be."""

    file_fields: frozenset[str]
    max_bytes: Callable[[Settings], int]
    too_large: Callable[[Settings], CFError]
    # The text fields besides the files.
    fields: Fields | None = None


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
                pace=Pace.of(settings),
            )
        except CFError as exc:
            return body_error_response(exc)
        try:
            return await run_in_threadpool(_call, deps, handler, "scoped", request, b"", extras={"form": form})
        finally:
            form.discard()

    run.__name__ = handler.__name__
    _DOCS[run] = RouteDoc("scoped", spec.fields, files=spec.file_fields)
    return run


def _must_exist(deps: Deps, identity: Identity) -> str | None:
    """The user a token must still name: users of the embedded token server live in our own
    table, so one deleted there loses their tokens at once. (An external UAA's users are
    recorded on first sight instead, as Cloud Controller does.)"""
    return identity.user_guid if deps.issuer is not None and identity.username is not None else None


def _gate(deps: Deps, request: Request) -> Response | None:
    try:
        with deps.db.session() as session:
            identity = authenticate(deps, request.headers)
            scope_gate(identity, request.method)
            if identity is not None and bearer_refused(session, identity.jti, _must_exist(deps, identity)):
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
    render: ErrorRenderer = error_response,
) -> Response:
    try:
        # A NUL names nothing (and PostgreSQL cannot even compare text with one): such a path is
        # an unknown request, such a query parameter an invalid one.
        if any("\x00" in value for value in request.path_params.values()):
            raise CFError("NotFound")
        query = QueryString(request.url.query)
        if any("\x00" in key or "\x00" in value for key, value in query.pairs):
            raise CFError("BadQueryParameter", "a parameter holds a NUL character")
        with deps.db.session() as session:
            identity = None if access == "public" else authenticate(deps, request.headers)
            if access == "scoped":
                scope_gate(identity, request.method)
            elif access == "token" and identity is None:
                raise CFError("NotAuthenticated")
            if identity is not None:
                if bearer_refused(session, identity.jti, _must_exist(deps, identity)):
                    raise CFError("InvalidAuthToken")
                deps.seen_users.ensure(session, identity)
            ctx = RequestContext(
                deps=deps,
                method=request.method,
                path=request.url.path,
                path_params=dict(request.path_params),
                query=query,
                headers=request.headers,
                body=body,
                identity=identity,
                db=session,
                extras=extras or {},
            )
            request.state.user_guid = identity.user_guid if identity else None
            return handler(ctx)
    except CFError as exc:
        return render(exc)
    except Exception:
        if deps.settings.debug:
            raise
        log.error("unexpected error", extra={"path": request.url.path, "traceback": traceback.format_exc()})
        return cf_json({"errors": [UNKNOWN_ERROR]}, status=500)


def _route(method: str) -> Callable[..., Route]:
    def make(
        path: str,
        handler: Handler,
        *,
        access: Access = "scoped",
        v2: bool = False,
        body: Fields | None = None,
        query: ListSpec | None = None,
    ) -> Route:
        render = v2_error_response if v2 else error_response
        run = endpoint(handler, access=access, render=render, body=body, query=query)
        return Route(path, run, methods=[method], name=f"{method} {path}")

    return make


get = _route("GET")
post = _route("POST")
patch = _route("PATCH")
put = _route("PUT")
delete = _route("DELETE")
