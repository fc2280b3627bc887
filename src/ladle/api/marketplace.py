"""Service offerings, plans and brokers: honestly empty, because no broker can be registered yet.

They are lists like any other (the query is validated with Cloud Controller's parameters, so a
client's typo is still a 400), and offerings and plans need no token, as in Cloud Controller
with its default ``hide_marketplace_from_unauthenticated_users: false``. ``cf marketplace``
then says "No service offerings found." instead of failing.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.listing import empty_list
from ladle.api.routing import RequestContext, get
from ladle.errors import CFError
from ladle.messages.lists import ListSpec

__all__ = ["routes"]

PLAN_ARRAYS = (
    "broker_catalog_ids",
    "names",
    "organization_guids",
    "service_broker_guids",
    "service_broker_names",
    "service_instance_guids",
    "service_offering_guids",
    "service_offering_names",
    "space_guids",
    "include",
)
PLANS = ListSpec(
    keys=("available", "fields", *PLAN_ARRAYS),
    array_keys=frozenset(PLAN_ARRAYS),
    order_by=("created_at", "updated_at", "name"),
    include=("space.organization", "service_offering"),
)
OFFERING_ARRAYS = (
    "broker_catalog_ids",
    "service_broker_guids",
    "service_broker_names",
    "names",
    "space_guids",
    "organization_guids",
)
OFFERINGS = ListSpec(
    keys=("available", "fields", *OFFERING_ARRAYS),
    array_keys=frozenset(OFFERING_ARRAYS),
    order_by=("created_at", "updated_at", "name"),
)
BROKERS = ListSpec(
    keys=("space_guids", "names"),
    array_keys=frozenset({"space_guids", "names"}),
    order_by=("created_at", "updated_at", "name"),
)


# What each ``include`` of the plans list adds under ``included``.
PLAN_INCLUDES = {"service_offering": ("service_offerings",), "space.organization": ("spaces", "organizations")}


def list_plans(ctx: RequestContext) -> Response:
    return empty_list(ctx, PLANS, ctx.urls.v3("service_plans"), PLAN_INCLUDES)


def list_offerings(ctx: RequestContext) -> Response:
    return empty_list(ctx, OFFERINGS, ctx.urls.v3("service_offerings"))


def list_brokers(ctx: RequestContext) -> Response:
    return empty_list(ctx, BROKERS, ctx.urls.v3("service_brokers"))


def _not_found(what: str) -> CFError:
    return CFError("ResourceNotFound", f"{what} not found")


def show_plan(ctx: RequestContext) -> Response:
    raise _not_found("Service plan")


def show_offering(ctx: RequestContext) -> Response:
    raise _not_found("Service offering")


def show_broker(ctx: RequestContext) -> Response:
    raise _not_found("Service broker")


def routes() -> list[BaseRoute]:
    return [
        get("/v3/service_plans", list_plans, access="public"),
        get("/v3/service_plans/{guid}", show_plan, access="public"),
        get("/v3/service_offerings", list_offerings, access="public"),
        get("/v3/service_offerings/{guid}", show_offering, access="public"),
        get("/v3/service_brokers", list_brokers),
        get("/v3/service_brokers/{guid}", show_broker),
    ]
