"""An app's environment: ``/env``, ``/environment_variables`` and ``/permissions``."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.app_env import update_app_env
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.routing import RequestContext, cf_json, get, patch
from ladle.db.feature_flags import require_flag
from ladle.db.models import App
from ladle.db.placement import placement_of
from ladle.db.services import env_group_vars, vcap_services
from ladle.messages.app_env_update import parse_env_update
from ladle.presenters.app_env import present_env, present_env_vars, present_permissions

__all__ = ["routes"]


def _env_readable_app(ctx: RequestContext) -> tuple[App, bool]:
    """The app, if the caller may read its environment; and whether they may see secrets."""
    require_flag(ctx.db, "env_var_visibility", ctx.identity)
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_env(ref))
    require_flag(ctx.db, "space_developer_env_var_visibility", ctx.identity)
    return app, ctx.perms.can_read_secrets_in_space(ref)


def show_env(ctx: RequestContext) -> Response:
    app, with_secrets = _env_readable_app(ctx)
    body = present_env(
        app,
        placement_of(ctx.db, app),
        ctx.urls.base,
        staging_group=env_group_vars(ctx.db, "staging"),
        running_group=env_group_vars(ctx.db, "running"),
        vcap_services=vcap_services(ctx.db, app.guid) if with_secrets else {},
        with_secrets=with_secrets,
    )
    return cf_json(body)


def show_env_vars(ctx: RequestContext) -> Response:
    app, _ = _env_readable_app(ctx)
    return cf_json(present_env_vars(app, ctx.urls))


def update_env_vars(ctx: RequestContext) -> Response:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    changes = parse_env_update(ctx.json())
    update_app_env(ctx.db, app, changes)
    return cf_json(present_env_vars(app, ctx.urls))


def show_permissions(ctx: RequestContext) -> Response:
    _, ref = readable_app(ctx, ctx.param("guid"))
    return cf_json(present_permissions(read_sensitive_data=ctx.perms.can_read_secrets_in_space(ref)))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/apps/{guid}/env", show_env),
        get("/v3/apps/{guid}/environment_variables", show_env_vars),
        patch("/v3/apps/{guid}/environment_variables", update_env_vars),
        get("/v3/apps/{guid}/permissions", show_permissions),
    ]
