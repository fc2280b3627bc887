"""``/v3/stacks``: any caller reads them, admins change them."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.stacks import create_stack, delete_stack, update_stack
from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.apps import apps_page
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import Stack
from ladle.db.stacks import stacks_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.stack import parse_stack_create, parse_stack_update
from ladle.presenters.app import present_app
from ladle.presenters.pagination import present_page
from ladle.presenters.stack import present_stack

__all__ = ["routes"]

LIST = ListSpec(
    keys=("names", "default"), array_keys=frozenset({"names"}), order_by=("created_at", "updated_at", "name")
)


def _present(ctx: RequestContext, stack: Stack) -> dict[str, Any]:
    metadata = load_metadata(ctx.db, "stack", [stack.guid])[stack.guid]
    return present_stack(stack, metadata, ctx.urls, default=stack.name == ctx.deps.settings.default_stack)


def _stack(ctx: RequestContext) -> Stack:
    stack = by_guid(ctx.db, Stack, ctx.param("guid"))
    if stack is None:
        raise CFError("ResourceNotFound", "Stack not found")
    return stack


def list_stacks(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    default = params.scalars.get("default")
    if default is not None and default not in ("true", "false"):
        raise CFError("BadQueryParameter", "Default must be a boolean")
    page = stacks_page(ctx.db, params, ctx.deps.settings.default_stack)
    metadata = load_metadata(ctx.db, "stack", [s.guid for s in page.rows])
    default_name = ctx.deps.settings.default_stack
    resources = [present_stack(s, metadata[s.guid], ctx.urls, default=s.name == default_name) for s in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("stacks")))


def show(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, _stack(ctx)))


def create(ctx: RequestContext) -> Response:
    require(ctx.perms.is_admin)
    change = parse_stack_create(ctx.json())
    return cf_json(_present(ctx, create_stack(ctx.db, ctx.deps.settings, change)), status=201)


def update(ctx: RequestContext) -> Response:
    stack = _stack(ctx)
    require(ctx.perms.is_admin)
    change = parse_stack_update(ctx.json())
    return cf_json(_present(ctx, update_stack(ctx.db, ctx.deps.settings, stack, change)))


def remove(ctx: RequestContext) -> Response:
    stack = _stack(ctx)
    require(ctx.perms.is_admin)
    delete_stack(ctx.db, stack)
    return no_content()


def stack_apps(ctx: RequestContext) -> Response:
    from ladle.api.apps import LIST as APPS_LIST

    stack = _stack(ctx)
    params = parse_list_or_raise(ctx, APPS_LIST)
    params.arrays["stacks"] = [stack.name]
    page = apps_page(ctx.db, ctx.perms, params)
    metadata = load_metadata(ctx.db, "app", [a.guid for a in page.rows])
    resources = [present_app(a, metadata[a.guid], ctx.urls) for a in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("stacks", stack.guid, "apps")))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/stacks", list_stacks, query=LIST),
        post("/v3/stacks", create),
        get("/v3/stacks/{guid}", show),
        patch("/v3/stacks/{guid}", update),
        delete("/v3/stacks/{guid}", remove),
        get("/v3/stacks/{guid}/apps", stack_apps),
    ]
