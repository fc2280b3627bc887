"""``/v3/builds`` and ``/v3/apps/:guid/builds``, plus Ladle's cancel action and live log stream."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.build_create import create_build
from ladle.actions.build_update import cancel_build, update_build
from ladle.api.guards import readable_app, readable_of_app, require, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.log_stream import stream_build_log
from ladle.api.routing import RequestContext, cf_json, get, patch, post
from ladle.db.builds import builds_page
from ladle.db.lookup import by_guid, space_ref_of_app
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Build, Package
from ladle.db.permissions import SpaceRef
from ladle.errors import CFError
from ladle.messages.build_create import parse_build_create
from ladle.messages.build_update import BUILD_UPDATE_FIELDS, parse_build_update
from ladle.messages.lists import ListSpec
from ladle.presenters.build import present_build
from ladle.presenters.pagination import present_page

__all__ = ["readable_build", "routes", "stageable_package"]

LIST = ListSpec(
    keys=("app_guids", "package_guids", "states"), array_keys=frozenset({"app_guids", "package_guids", "states"})
)
APP_LIST = ListSpec(keys=("states",), array_keys=frozenset({"states"}))
UNUSABLE_PACKAGE = "Unable to use package. Ensure that the package exists and you have access to it."


def _present(ctx: RequestContext, build: Build) -> dict[str, Any]:
    return present_build(build, load_metadata(ctx.db, "build", [build.guid])[build.guid], ctx.urls)


def readable_build(ctx: RequestContext, guid: str) -> tuple[Build, SpaceRef]:
    return readable_of_app(ctx, Build, guid, state_updater_reads=True)


def stageable_package(ctx: RequestContext, guid: str) -> tuple[Package, App, SpaceRef]:
    """The package to stage, if the caller may manage apps where it lives (else CC's 422)."""
    package = by_guid(ctx.db, Package, guid)
    app = by_guid(ctx.db, App, package.app_guid) if package else None
    if package is None or app is None:
        raise CFError("UnprocessableEntity", UNUSABLE_PACKAGE)
    ref = space_ref_of_app(ctx.db, app)
    if not ctx.perms.can_manage_apps_in_space(ref):
        raise CFError("UnprocessableEntity", UNUSABLE_PACKAGE)
    require_active_space(ctx, ref)
    return package, app, ref


def create(ctx: RequestContext) -> Response:
    msg = parse_build_create(ctx.json())
    package, app, _ = stageable_package(ctx, msg.package_guid)
    build, _ = create_build(
        ctx.db, ctx.deps.settings, ctx.deps.executor, app=app, package=package, msg=msg, identity=ctx.user
    )
    return cf_json(_present(ctx, build), status=201)


def _list(ctx: RequestContext, spec: ListSpec, app_guid: str | None, base_url: str) -> Response:
    params = parse_list_or_raise(ctx, spec)
    page = builds_page(ctx.db, ctx.perms, params, app_guid)
    metadata = load_metadata(ctx.db, "build", [b.guid for b in page.rows])
    resources = [present_build(b, metadata[b.guid], ctx.urls) for b in page.rows]
    return cf_json(present_page(resources, page.total, params, base_url))


def list_builds(ctx: RequestContext) -> Response:
    return _list(ctx, LIST, None, ctx.urls.v3("builds"))


def list_app_builds(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("guid"))
    return _list(ctx, APP_LIST, app.guid, ctx.urls.v3("apps", app.guid, "builds"))


def show(ctx: RequestContext) -> Response:
    build, _ = readable_build(ctx, ctx.param("guid"))
    return cf_json(_present(ctx, build))


def update(ctx: RequestContext) -> Response:
    body = ctx.json()
    build, ref = readable_build(ctx, ctx.param("guid"))
    if "state" in body:
        require(ctx.perms.is_build_state_updater)
    else:
        require(ctx.perms.can_write_to_space(ref))
        require_active_space(ctx, ref)
    msg = parse_build_update(body)
    update_build(ctx.db, ctx.deps.db, ctx.deps.settings, build, msg)
    return cf_json(_present(ctx, build))


def cancel(ctx: RequestContext) -> Response:
    build, ref = readable_build(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    cancel_build(ctx.deps.db, build, ctx.user.username or ctx.user.user_guid)
    ctx.db.refresh(build)
    return cf_json(_present(ctx, build))


def logs(ctx: RequestContext) -> Response:
    build, _ = readable_build(ctx, ctx.param("guid"))
    return stream_build_log(ctx, build.guid)


def routes() -> list[BaseRoute]:
    return [
        get("/v3/builds", list_builds),
        post("/v3/builds", create),
        get("/v3/builds/{guid}", show),
        patch("/v3/builds/{guid}", update, body=BUILD_UPDATE_FIELDS),
        post("/v3/builds/{guid}/actions/cancel", cancel),
        get("/v3/builds/{guid}/logs", logs),
        get("/v3/apps/{guid}/builds", list_app_builds),
    ]
