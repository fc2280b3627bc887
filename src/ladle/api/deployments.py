"""``/v3/deployments``: create, read, list, cancel, label."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.deployment_cancel import cancel_deployment
from ladle.actions.deployment_create import create_deployment
from ladle.actions.metadata_update import update_resource_metadata
from ladle.api.app_change import app_change
from ladle.api.guards import readable_of_app, readable_with_app, require, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, get, no_content, patch, post
from ladle.db.deployments import deployments_page
from ladle.db.lookup import by_guid, space_ref_of_app
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Deployment
from ladle.errors import CFError
from ladle.messages.deployment_create import DEPLOYMENT_CREATE_FIELDS, parse_deployment_create
from ladle.messages.lists import ListSpec
from ladle.messages.metadata import parse_metadata_update
from ladle.presenters.deployment import present_deployment
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

FILTERS = ("app_guids", "states", "status_reasons", "status_values")
LIST = ListSpec(keys=FILTERS, array_keys=frozenset(FILTERS))
UNABLE_TO_USE_APP = "Unable to use app. Ensure that the app exists and you have access to it."


def _present(ctx: RequestContext, deployments: list[Deployment]) -> list[dict[str, object]]:
    metadata = load_metadata(ctx.db, "deployment", [d.guid for d in deployments])
    return [present_deployment(d, metadata[d.guid], ctx.urls) for d in deployments]


def list_deployments(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = deployments_page(ctx.db, ctx.perms, params)
    return cf_json(present_page(_present(ctx, page.rows), page.total, params, ctx.urls.v3("deployments")))


def show(ctx: RequestContext) -> Response:
    deployment, _ = readable_of_app(ctx, Deployment, ctx.param("guid"))
    return cf_json(_present(ctx, [deployment])[0])


def create(ctx: RequestContext) -> Response:
    msg = parse_deployment_create(ctx.json())
    # Cloud Controller answers the same 422 whether the app is missing, invisible or not
    # the caller's to manage.
    app = by_guid(ctx.db, App, msg.app_guid) if msg.app_guid else None
    ref = space_ref_of_app(ctx.db, app) if app else None
    if app is None or ref is None or not ctx.perms.can_manage_apps_in_space(ref):
        raise CFError("UnprocessableEntity", UNABLE_TO_USE_APP)
    require_active_space(ctx, ref)
    deployment = create_deployment(ctx.db, ctx.deps.settings, msg, app_change(ctx, app, ref))
    return cf_json(_present(ctx, [deployment])[0], status=201)


def cancel(ctx: RequestContext) -> Response:
    deployment, app, ref = readable_with_app(ctx, Deployment, ctx.param("guid"))
    # Those who may see it but not manage the app's space get "not found" too, as in CC.
    if not ctx.perms.can_manage_apps_in_space(ref):
        raise CFError("ResourceNotFound", "Deployment not found")
    require_active_space(ctx, ref)
    cancel_deployment(ctx.db, ctx.deps.settings, deployment, app_change(ctx, app, ref))
    # 200 with an empty body (Rails' ``head :ok``).
    return no_content(200)


def update(ctx: RequestContext) -> Response:
    deployment, ref = readable_of_app(ctx, Deployment, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    update_resource_metadata(ctx.db, ctx.deps.settings, "deployment", deployment, parse_metadata_update(ctx.json()))
    return cf_json(_present(ctx, [deployment])[0])


def routes() -> list[BaseRoute]:
    return [
        get("/v3/deployments", list_deployments, query=LIST),
        get("/v3/deployments/", list_deployments, query=LIST),
        post("/v3/deployments", create, body=DEPLOYMENT_CREATE_FIELDS),
        get("/v3/deployments/{guid}", show),
        patch("/v3/deployments/{guid}", update),
        post("/v3/deployments/{guid}/actions/cancel", cancel),
    ]
