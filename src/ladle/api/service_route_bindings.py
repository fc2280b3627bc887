"""``/v3/service_route_bindings``: route services, which Ladle's router does not offer.

Cloud Controller with route services switched off (``route_services_enabled: false``) is the
model: binding a service instance to a route is refused with its words ("Support for route
services is disabled"), so no binding can exist, and the lists are honestly empty. They are still
served, with Cloud Controller's list parameters checked, because clients read them: the cf CLI v8's
``cf routes`` asks for the bindings of the routes it shows, and a service instance links to its
own.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.listing import empty_list
from ladle.api.routing import RequestContext, delete, get, patch, post
from ladle.errors import CFError
from ladle.messages.lists import ListSpec

__all__ = ["routes"]

ARRAYS = ("service_instance_guids", "service_instance_names", "route_guids")
LIST = ListSpec(
    keys=(*ARRAYS, "include"),
    array_keys=frozenset((*ARRAYS, "include")),
    include=("route", "service_instance"),
)
NOT_FOUND = CFError("ResourceNotFound", "Service route binding not found")
# What each ``include`` adds under ``included``: the bindings' routes and instances, none here.
INCLUDES = {"route": ("routes",), "service_instance": ("service_instances",)}


def list_bindings(ctx: RequestContext) -> Response:
    return empty_list(ctx, LIST, ctx.urls.v3("service_route_bindings"), INCLUDES)


def create(_ctx: RequestContext) -> Response:
    # Cloud Controller says this before it reads the body or looks anything up.
    raise CFError("UnprocessableEntity", "Support for route services is disabled")


def not_found(_ctx: RequestContext) -> Response:
    raise NOT_FOUND


def routes() -> list[BaseRoute]:
    return [
        get("/v3/service_route_bindings", list_bindings, query=LIST),
        post("/v3/service_route_bindings", create),
        get("/v3/service_route_bindings/{guid}", not_found),
        patch("/v3/service_route_bindings/{guid}", not_found),
        delete("/v3/service_route_bindings/{guid}", not_found),
        get("/v3/service_route_bindings/{guid}/parameters", not_found),
    ]
