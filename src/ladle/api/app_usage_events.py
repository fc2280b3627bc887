"""``/v3/app_usage_events``: for billing and metering tools, readable by global readers only."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.usage_events import app_usage_event, app_usage_events_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.presenters.app_usage_event import present_app_usage_event
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(
    keys=("after_guid",),
    array_keys=frozenset({"after_guid"}),
    order_by=("created_at",),
    labels=False,
    disallowed=("updated_ats",),
)


def list_events(ctx: RequestContext) -> Response:
    require(ctx.perms.reads_globally)
    params = parse_list_or_raise(ctx, LIST)
    after = None
    if "after_guid" in params.arrays:
        guids = params.arrays["after_guid"]
        if len(guids) != 1:
            raise CFError("BadQueryParameter", "After guid filter accepts only one guid")
        after = app_usage_event(ctx.db, guids[0])
        if after is None:
            raise CFError("BadQueryParameter", "After guid filter must be a valid app usage event guid.")
    page = app_usage_events_page(ctx.db, params, after)
    resources = [present_app_usage_event(e, ctx.urls) for e in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("app_usage_events")))


def show_event(ctx: RequestContext) -> Response:
    require(ctx.perms.reads_globally)
    event = app_usage_event(ctx.db, ctx.param("guid"))
    if event is None:
        raise CFError("ResourceNotFound", "App usage event not found")
    return cf_json(present_app_usage_event(event, ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/app_usage_events", list_events),
        get("/v3/app_usage_events/{guid}", show_event),
    ]
