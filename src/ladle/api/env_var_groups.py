"""``/v3/environment_variable_groups/running|staging``: read by any user, written by admins."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.env_var_groups import ensure_env_group, update_env_group
from ladle.api.guards import require
from ladle.api.routing import RequestContext, cf_json, get, patch
from ladle.db.services import ENV_GROUP_NAMES
from ladle.errors import CFError
from ladle.messages.app_env_update import parse_env_update
from ladle.presenters.env_var_group import present_env_group

__all__ = ["routes"]


def _name(ctx: RequestContext) -> str:
    name = ctx.param("name")
    if name not in ENV_GROUP_NAMES:
        raise CFError("ResourceNotFound", "Environment variable group not found")
    return name


def show(ctx: RequestContext) -> Response:
    return cf_json(present_env_group(ensure_env_group(ctx.db, _name(ctx)), ctx.urls))


def update(ctx: RequestContext) -> Response:
    # Cloud Controller validates the body before it checks who is asking.
    body = ctx.json()
    changes = parse_env_update(body if body else {"var": {}})
    require(ctx.perms.is_admin)
    row = update_env_group(ctx.db, _name(ctx), changes)
    return cf_json(present_env_group(row, ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/environment_variable_groups/{name}", show),
        patch("/v3/environment_variable_groups/{name}", update),
    ]
