"""``GET /v3/apps/:guid/sidecars`` and ``GET /v3/processes/:guid/sidecars``.

Ladle runs no sidecars (apps cannot declare any yet), so these lists are honestly empty; they
still check visibility and the list parameters as Cloud Controller does, since ``cf app`` reads them.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.guards import readable_app, readable_process
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get
from ladle.messages.lists import ListSpec
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(labels=False)


def app_sidecars(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    readable_app(ctx, ctx.param("guid"))
    return cf_json(present_page([], 0, params, ctx.urls.v3("apps", ctx.param("guid"), "sidecars")))


def process_sidecars(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    readable_process(ctx)
    return cf_json(present_page([], 0, params, ctx.urls.v3("processes", ctx.param("guid"), "sidecars")))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/apps/{guid}/sidecars", app_sidecars, query=LIST),
        get("/v3/processes/{guid}/sidecars", process_sidecars, query=LIST),
    ]
