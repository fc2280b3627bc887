"""``/v3/apps``: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.app_change import AppChange
from ladle.actions.app_create import create_app
from ladle.actions.app_state import restart_app, set_app_state
from ladle.actions.app_update import update_app
from ladle.actions.audit import actor_of
from ladle.actions.deletion import request_cascade_delete
from ladle.actions.staging_jobs import request_clear_buildpack_cache
from ladle.api.app_change import app_change
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, patch, post
from ladle.db.apps import apps_page, included_spaces_and_orgs
from ladle.db.lookup import by_guid, space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Space
from ladle.errors import CFError
from ladle.messages.app_create import APP_CREATE_FIELDS, parse_app_create
from ladle.messages.app_update import APP_UPDATE_FIELDS, parse_app_update
from ladle.messages.lifecycle import LIFECYCLE_TYPES
from ladle.messages.lists import ListSpec
from ladle.messages.show import parse_show_query
from ladle.presenters.app import present_app
from ladle.presenters.organization import present_organization
from ladle.presenters.pagination import present_page
from ladle.presenters.space import present_space

__all__ = ["routes"]

INCLUDE = ("space", "org", "space.organization")
LIST = ListSpec(
    keys=("names", "organization_guids", "space_guids", "stacks", "include", "lifecycle_type"),
    array_keys=frozenset({"names", "organization_guids", "space_guids", "stacks"}),
    order_by=("created_at", "updated_at", "name", "state"),
    include=INCLUDE,
)


def _included(ctx: RequestContext, includes: list[str], space_guids: list[str]) -> dict[str, Any] | None:
    if not includes:
        return None
    spaces, orgs = included_spaces_and_orgs(ctx.db, ctx.perms, space_guids)
    included: dict[str, Any] = {}
    if "space" in includes or "space.organization" in includes:
        metadata = load_metadata(ctx.db, "space", [s.guid for s in spaces])
        included["spaces"] = [present_space(s, metadata[s.guid], ctx.urls) for s in spaces]
    if "org" in includes or "space.organization" in includes:
        metadata = load_metadata(ctx.db, "organization", [o.guid for o in orgs])
        included["organizations"] = [present_organization(o, metadata[o.guid], ctx.urls) for o in orgs]
    return included


def _present(ctx: RequestContext, app: App) -> dict[str, Any]:
    return present_app(app, load_metadata(ctx.db, "app", [app.guid])[app.guid], ctx.urls)


def list_apps(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    lifecycle = params.scalars.get("lifecycle_type")
    if lifecycle is not None and lifecycle not in LIFECYCLE_TYPES:
        raise CFError("BadQueryParameter", f"Invalid lifecycle_type: '{lifecycle}'")
    page = apps_page(ctx.db, ctx.perms, params)
    metadata = load_metadata(ctx.db, "app", [a.guid for a in page.rows])
    resources = [present_app(a, metadata[a.guid], ctx.urls) for a in page.rows]
    included = _included(ctx, params.include, [a.space_guid for a in page.rows])
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("apps"), included))


def show_app(ctx: RequestContext) -> Response:
    includes, problems = parse_show_query(ctx.query, INCLUDE)
    if problems:
        raise CFError("BadQueryParameter", problems)
    app, _ = readable_app(ctx, ctx.param("guid"))
    body = _present(ctx, app)
    if (included := _included(ctx, includes, [app.space_guid])) is not None:
        body["included"] = included
    return cf_json(body)


def create(ctx: RequestContext) -> Response:
    body = ctx.json()
    msg = parse_app_create(body)
    space = by_guid(ctx.db, Space, msg.space_guid or "")
    ref = space_ref(ctx.db, space.guid) if space else None
    if ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("UnprocessableEntity", "Invalid space. Ensure that the space exists and you have access to it.")
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    assert space is not None
    app = create_app(ctx.db, ctx.deps.settings, space, msg, ctx.user, request=body)
    return cf_json(_present(ctx, app), status=201)


def update(ctx: RequestContext) -> Response:
    body = ctx.json()
    msg = parse_app_update(body)
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return cf_json(_present(ctx, update_app(ctx.db, ctx.deps.settings, app, msg, actor_of(ctx.user), request=body)))


def delete_app(ctx: RequestContext) -> Response:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return accepted_job(ctx, request_cascade_delete(ctx.db, ctx.deps.executor, app, ctx.user.user_guid))


def _manageable_app(ctx: RequestContext) -> App:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    return app


def clear_buildpack_cache(ctx: RequestContext) -> Response:
    app = _manageable_app(ctx)
    return accepted_job(ctx, request_clear_buildpack_cache(ctx.db, ctx.deps.executor, app, ctx.user.user_guid))


def _managed_app(ctx: RequestContext) -> AppChange:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    return app_change(ctx, app, ref)


def start(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, set_app_state(ctx.db, _managed_app(ctx), "STARTED")))


def stop(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, set_app_state(ctx.db, _managed_app(ctx), "STOPPED")))


def restart(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, restart_app(ctx.db, _managed_app(ctx))))


def routes() -> list[BaseRoute]:
    return [
        post("/v3/apps/{guid}/actions/start", start),
        post("/v3/apps/{guid}/actions/stop", stop),
        post("/v3/apps/{guid}/actions/restart", restart),
        post("/v3/apps/{guid}/actions/clear_buildpack_cache", clear_buildpack_cache),
        get("/v3/apps", list_apps, query=LIST),
        post("/v3/apps", create, body=APP_CREATE_FIELDS),
        get("/v3/apps/{guid}", show_app),
        patch("/v3/apps/{guid}", update, body=APP_UPDATE_FIELDS),
        delete("/v3/apps/{guid}", delete_app),
    ]
