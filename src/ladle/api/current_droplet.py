"""An app's current droplet: the relationship, the droplet itself, and the seeds' older PUT."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.audit import actor_of
from ladle.actions.current_droplet import assign_current_droplet
from ladle.api.droplets import present
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.routing import RequestContext, cf_json, get, patch, put
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Droplet
from ladle.errors import CFError
from ladle.messages.current_droplet import parse_current_droplet, parse_legacy_current_droplet
from ladle.presenters.app import present_app, present_current_droplet

__all__ = ["routes"]


def _current(ctx: RequestContext) -> tuple[App, Droplet]:
    app, _ = readable_app(ctx, ctx.param("guid"))
    droplet = by_guid(ctx.db, Droplet, app.droplet_guid) if app.droplet_guid else None
    if droplet is None:
        raise CFError("ResourceNotFound", "Droplet not found")
    return app, droplet


def show_relationship(ctx: RequestContext) -> Response:
    app, _ = _current(ctx)
    return cf_json(present_current_droplet(app, ctx.urls))


def show_current(ctx: RequestContext) -> Response:
    # Cloud Controller shows this one unredacted to anyone who may see the app.
    _, droplet = _current(ctx)
    return cf_json(present(ctx, droplet))


def _assign(ctx: RequestContext, droplet_guid: str | None) -> App:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    assign_current_droplet(ctx.db, ctx.deps.settings, app, droplet_guid, actor_of(ctx.user))
    return app


def update_relationship(ctx: RequestContext) -> Response:
    app = _assign(ctx, parse_current_droplet(ctx.json()))
    return cf_json(present_current_droplet(app, ctx.urls))


def legacy_assign(ctx: RequestContext) -> Response:
    """The 2016 form the seeds link to, answered with the app."""
    app = _assign(ctx, parse_legacy_current_droplet(ctx.json()))
    return cf_json(present_app(app, load_metadata(ctx.db, "app", [app.guid])[app.guid], ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/apps/{guid}/relationships/current_droplet", show_relationship),
        patch("/v3/apps/{guid}/relationships/current_droplet", update_relationship),
        get("/v3/apps/{guid}/droplets/current", show_current),
        put("/v3/apps/{guid}/current_droplet", legacy_assign),
    ]
