"""``/v3/audit_events``: what happened, for whoever may audit where it happened (``cf events``)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get
from ladle.db.audit_events import audit_events_page, readable_event
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.query import split_list
from ladle.presenters.audit_event import present_audit_event
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

# ``target_guids`` is read by hand: besides a list it takes ``target_guids[not]=...``.
LIST = ListSpec(
    keys=("types", "target_guids", "space_guids", "organization_guids"),
    array_keys=frozenset({"types", "space_guids", "organization_guids"}),
    labels=False,
)


def list_audit_events(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    if "target_guids" in params.scalars:
        params.arrays["target_guids"] = split_list(params.scalars.pop("target_guids"))
    excluded = ctx.query.get("target_guids[not]")
    page = audit_events_page(ctx.db, ctx.perms, params, split_list(excluded) if excluded is not None else [])
    resources = [present_audit_event(e, ctx.urls) for e in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("audit_events")))


def show_audit_event(ctx: RequestContext) -> Response:
    event = readable_event(ctx.db, ctx.perms, ctx.param("guid"))
    if event is None:
        raise CFError("ResourceNotFound", "Event not found")
    return cf_json(present_audit_event(event, ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/audit_events", list_audit_events),
        get("/v3/audit_events/{guid}", show_audit_event),
    ]
