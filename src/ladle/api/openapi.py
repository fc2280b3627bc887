"""``GET /openapi.json``: an OpenAPI 3 document of the API, generated from the route table.

Nothing here is written twice. Paths, methods and path parameters come from the Starlette
routes; who may call each one, its body fields and its list parameters from what the route was
declared with (``api/routing.RouteDoc``), which are the same declarations its message parser
and list parser enforce. What it says, and no more:

- a JSON body is an object of the declared fields and no others (Cloud Controller refuses
  unknown fields); a route that declares none takes any object (unknown keys are ignored or
  refused by its parser); uploads are multipart with their file fields;
- every 4xx and 5xx answer is Cloud Controller's error envelope; success bodies are not
  described (their shapes live in the presenters).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ladle import __version__
from ladle.api.routing import RequestContext, RouteDoc, cf_json, doc_of, get

__all__ = ["ERROR_ENVELOPE", "openapi_document", "routes"]

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "title", "detail"],
                "properties": {
                    "code": {"type": "integer"},
                    "title": {"type": "string", "pattern": "^CF-"},
                    "detail": {"type": "string"},
                },
            },
        }
    },
}
_SUCCESS = {"200": "OK", "201": "Created", "202": "Accepted", "204": "No Content", "302": "Found"}
_WRITES = {"POST", "PATCH", "PUT"}


def _field(kind: str) -> dict[str, Any]:
    # Optional fields may be null (unset) as in Cloud Controller.
    return {"nullable": True} if kind == "any" else {"type": kind, "nullable": True}


def _request_body(doc: RouteDoc) -> dict[str, Any]:
    if doc.files:
        properties = {name: {"type": "string", "format": "binary"} for name in sorted(doc.files)}
        properties.update({name: {"type": "string"} for name in doc.body or {}})
        form: dict[str, Any] = {"type": "object", "properties": properties}
        return {"content": {"multipart/form-data": {"schema": form}}}
    if doc.body is None:
        return {"content": {"application/json": {"schema": {"type": "object"}}}}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: _field(kind) for name, kind in doc.body.items()},
        "additionalProperties": False,
    }
    return {"content": {"application/json": {"schema": schema}}}


def _parameters(route: Route, doc: RouteDoc) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in route.param_convertors
    ]
    if doc.query is not None:
        keys = dict.fromkeys([*doc.query.allowed, *(("include",) if doc.query.include else ())])
        params += [{"name": key, "in": "query", "required": False, "schema": {"type": "string"}} for key in keys]
    return params


def _operation(method: str, route: Route) -> dict[str, Any]:
    doc = doc_of(route.endpoint)
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
    error = {"description": "Cloud Controller's error envelope", "content": envelope}
    operation: dict[str, Any] = {
        "operationId": f"{method} {route.path}",
        "parameters": _parameters(route, doc),
        "responses": {**{code: {"description": text} for code, text in _SUCCESS.items()}, "4XX": error, "5XX": error},
    }
    if doc.access != "public":
        operation["security"] = [{"bearer": []}]
    if method in _WRITES:
        operation["requestBody"] = _request_body(doc)
    return operation


def openapi_document(served: Sequence[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in served:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            paths.setdefault(route.path, {})[method.lower()] = _operation(method, route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Ladle: the Cloud Foundry v3 API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {"Errors": ERROR_ENVELOPE},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def routes(served: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The document's own route, describing ``served`` (and itself)."""

    own: list[BaseRoute] = []

    @cache
    def document() -> dict[str, Any]:
        return openapi_document([*served, *own])

    def show(_ctx: RequestContext) -> Response:
        return cf_json(document())

    own.append(get("/openapi.json", show, access="public"))
    return own
