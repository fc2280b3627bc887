"""``/v3/feature_flags``: list, show, update."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.feature_flag_update import update_feature_flag
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get, patch
from ladle.db.feature_flags import FlagState, all_flags, get_flag
from ladle.errors import CFError
from ladle.messages.feature_flag_update import FEATURE_FLAG_FIELDS, parse_feature_flag_update
from ladle.messages.lists import ListSpec, conditions_hold
from ladle.presenters.feature_flag import present_feature_flag
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(order_by=("name",), labels=False, disallowed=("created_ats",))


def list_flags(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    flags = all_flags(ctx.db)
    if "updated_ats" in params.timestamps:
        groups = params.timestamps["updated_ats"]
        flags = [f for f in flags if f.updated_at is not None and conditions_hold(groups, f.updated_at)]
    if "guids" in params.arrays:
        flags = []  # flags have no guids, so a guid filter matches none
    flags.sort(key=lambda f: f.name, reverse=params.descending)
    start = (params.page - 1) * params.per_page
    page = flags[start : start + params.per_page]
    resources = [present_feature_flag(f, ctx.urls) for f in page]
    return cf_json(present_page(resources, len(flags), params, ctx.urls.v3("feature_flags")))


def _flag_or_404(ctx: RequestContext) -> FlagState:
    flag = get_flag(ctx.db, ctx.param("name"))
    if flag is None:
        raise CFError("ResourceNotFound", "Feature flag not found")
    return flag


def show_flag(ctx: RequestContext) -> Response:
    return cf_json(present_feature_flag(_flag_or_404(ctx), ctx.urls))


def update_flag(ctx: RequestContext) -> Response:
    flag = _flag_or_404(ctx)
    if not ctx.perms.is_admin:
        raise CFError("NotAuthorized")
    update = parse_feature_flag_update(ctx.json())
    return cf_json(present_feature_flag(update_feature_flag(ctx.db, flag.name, update), ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/feature_flags", list_flags, query=LIST),
        get("/v3/feature_flags/{name}", show_flag),
        patch("/v3/feature_flags/{name}", update_flag, body=FEATURE_FLAG_FIELDS),
    ]
