"""An app's environment: ``/env``, ``/environment_variables`` and ``/permissions``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.app_env import update_app_env
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.routing import RequestContext, cf_json, get, patch
from ladle.db.feature_flags import require_flag
from ladle.db.models import App
from ladle.db.placement import placement_of
from ladle.messages.app_env_update import parse_env_update
from ladle.staging.environment import vcap_application
from ladle.urls import link

__all__ = ["routes"]


def _env_vars_body(ctx: RequestContext, app: App) -> dict[str, Any]:
    return {
        "var": dict(app.environment_variables or {}),
        "links": {
            "self": link(ctx.urls.v3("apps", app.guid, "environment_variables")),
            "app": link(ctx.urls.v3("apps", app.guid)),
        },
    }


def show_env(ctx: RequestContext) -> Response:
    require_flag(ctx.db, "env_var_visibility", ctx.identity)
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_env(ref))
    require_flag(ctx.db, "space_developer_env_var_visibility", ctx.identity)
    system: dict[str, Any] = {"VCAP_SERVICES": {}}
    if not ctx.perms.can_read_secrets_in_space(ref):
        system = {"redacted_message": "[PRIVATE DATA HIDDEN]"}
    placement = placement_of(ctx.db, app)
    return cf_json(
        {
            "environment_variables": dict(app.environment_variables or {}),
            "staging_env_json": {},
            "running_env_json": {},
            "system_env_json": system,
            "application_env_json": {"VCAP_APPLICATION": vcap_application(placement, ctx.urls.base)},
        }
    )


def show_env_vars(ctx: RequestContext) -> Response:
    require_flag(ctx.db, "env_var_visibility", ctx.identity)
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_env(ref))
    require_flag(ctx.db, "space_developer_env_var_visibility", ctx.identity)
    return cf_json(_env_vars_body(ctx, app))


def update_env_vars(ctx: RequestContext) -> Response:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    changes = parse_env_update(ctx.json())
    update_app_env(ctx.db, app, changes)
    return cf_json(_env_vars_body(ctx, app))


def show_permissions(ctx: RequestContext) -> Response:
    _, ref = readable_app(ctx, ctx.param("guid"))
    return cf_json({"read_basic_data": True, "read_sensitive_data": ctx.perms.can_read_secrets_in_space(ref)})


def routes() -> list[BaseRoute]:
    return [
        get("/v3/apps/{guid}/env", show_env),
        get("/v3/apps/{guid}/environment_variables", show_env_vars),
        patch("/v3/apps/{guid}/environment_variables", update_env_vars),
        get("/v3/apps/{guid}/permissions", show_permissions),
    ]
