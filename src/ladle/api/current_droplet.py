"""An app's current droplet: the relationship, the droplet itself, and the seeds' older PUT."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.current_droplet import assign_current_droplet
from ladle.api.droplets import present
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.routing import RequestContext, cf_json, get, patch, put
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Droplet
from ladle.errors import CFError
from ladle.presenters.app import present_app

__all__ = ["routes"]

CANNOT_REMOVE = "Current droplet cannot be removed. Replace it with a preferred droplet."


def _relationship(ctx: RequestContext, app: App) -> dict[str, Any]:
    return {
        "data": {"guid": app.droplet_guid},
        "links": {
            "self": {"href": ctx.urls.v3("apps", app.guid, "relationships", "current_droplet")},
            "related": {"href": ctx.urls.v3("apps", app.guid, "droplets", "current")},
        },
    }


def _current(ctx: RequestContext) -> tuple[App, Droplet]:
    app, _ = readable_app(ctx, ctx.param("guid"))
    droplet = by_guid(ctx.db, Droplet, app.droplet_guid) if app.droplet_guid else None
    if droplet is None:
        raise CFError("ResourceNotFound", "Droplet not found")
    return app, droplet


def show_relationship(ctx: RequestContext) -> Response:
    app, _ = _current(ctx)
    return cf_json(_relationship(ctx, app))


def show_current(ctx: RequestContext) -> Response:
    # Cloud Controller shows this one unredacted to anyone who may see the app.
    _, droplet = _current(ctx)
    return cf_json(present(ctx, droplet))


def _assign(ctx: RequestContext, droplet_guid: str | None) -> App:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    assign_current_droplet(ctx.db, ctx.deps.settings, app, droplet_guid)
    return app


def update_relationship(ctx: RequestContext) -> Response:
    body = ctx.json()
    data = body.get("data")
    if "data" in body and (not isinstance(data, dict) or data.get("guid") is None):
        raise CFError("UnprocessableEntity", CANNOT_REMOVE)
    guid = data.get("guid") if isinstance(data, dict) else None
    app = _assign(ctx, guid if isinstance(guid, str) else None)
    return cf_json(_relationship(ctx, app))


def legacy_assign(ctx: RequestContext) -> Response:
    """The 2016 form the seeds link to: ``PUT /v3/apps/:guid/current_droplet`` with
    ``{"droplet_guid": ...}``, answered with the app."""
    body = ctx.json()
    unknown = sorted(set(body) - {"droplet_guid"})
    if unknown:
        raise CFError("UnprocessableEntity", "Unknown field(s): " + ", ".join(f"'{k}'" for k in unknown))
    guid = body.get("droplet_guid")
    if not isinstance(guid, str) or not guid:
        raise CFError("UnprocessableEntity", "Droplet guid must be a string")
    app = _assign(ctx, guid)
    return cf_json(present_app(app, load_metadata(ctx.db, "app", [app.guid])[app.guid], ctx.urls))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/apps/{guid}/relationships/current_droplet", show_relationship),
        patch("/v3/apps/{guid}/relationships/current_droplet", update_relationship),
        get("/v3/apps/{guid}/droplets/current", show_current),
        put("/v3/apps/{guid}/current_droplet", legacy_assign),
    ]
