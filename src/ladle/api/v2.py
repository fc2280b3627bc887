"""The ``/v2`` endpoints the v7 CLI's service commands still call, and no others.

``cf services``, ``cf service``, ``cf bind-service`` and ``cf create-user-provided-service`` of
CLI v7 are its v6 code on the v2 API: ``/v2/info`` (with a semver ``api_version``), the space
summary, ``/v2/services``, creating a user-provided instance, the two look-ups before a bind
(the app and the instance by name), creating the binding, and for ``cf service`` of a
user-provided instance its bindings and each bound app by guid. They read and write the same
rows as ``/v3`` through the same actions; errors come in the v2 shape
(``{"code", "description", "error_code"}``) with Cloud Controller's v2 codes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle import __description__, __version__
from ladle.actions.audit import actor_of
from ladle.actions.service_bindings import create_binding
from ladle.actions.service_instances import create_instance
from ladle.api.guards import readable_in_space, require, require_active_space
from ladle.api.routing import RequestContext, cf_json, get, post
from ladle.db.feature_flags import require_flag
from ladle.db.lookup import by_guid, space_ref
from ladle.db.models import App, Process, ServiceBinding, ServiceInstance, Space
from ladle.db.permissions import SpaceRef
from ladle.db.services import space_bindings, space_instances
from ladle.errors import CFError
from ladle.messages.service_instance import parse_instance_create
from ladle.presenters.root import PLATFORM_NAME
from ladle.presenters.v2 import (
    present_v2_app,
    present_v2_binding,
    present_v2_info,
    present_v2_list,
    present_v2_space_summary,
    present_v2_ups,
)

__all__ = ["routes"]

ALREADY_BOUND = "The app is already bound to the service instance"


def _filters(ctx: RequestContext) -> dict[str, str]:
    """``q=name:x&q=space_guid:y`` (the only v2 filter form these look-ups use)."""
    out: dict[str, str] = {}
    for key, value in ctx.query.pairs:
        if key == "q":
            field, sep, wanted = value.partition(":")
            if not sep:
                raise CFError("BadQueryParameter", value)
            out[field] = wanted
    return out


def _readable_space(ctx: RequestContext, guid: str) -> tuple[Space, SpaceRef]:
    space = by_guid(ctx.db, Space, guid)
    ref = space_ref(ctx.db, guid) if space else None
    if space is None or ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("SpaceNotFound", guid)
    return space, ref


def info(ctx: RequestContext) -> Response:
    return cf_json(
        present_v2_info(
            name=PLATFORM_NAME,
            build=f"ladle-{__version__}",
            description=__description__,
            token_url=ctx.deps.settings.token_server_url,
        )
    )


def space_summary(ctx: RequestContext) -> Response:
    space, _ = _readable_space(ctx, ctx.param("guid"))
    apps = list(ctx.db.scalars(select(App).where(App.space_guid == space.guid).order_by(App.id)))
    body = present_v2_space_summary(
        space.guid, space.name, apps, space_instances(ctx.db, space.guid), space_bindings(ctx.db, space.guid)
    )
    return cf_json(body)


def list_services(ctx: RequestContext) -> Response:
    """No broker is registered, so there are no services."""
    return cf_json(present_v2_list([]))


def list_apps(ctx: RequestContext) -> Response:
    filters = _filters(ctx)
    stmt = select(App)
    if not ctx.perms.reads_globally:
        stmt = stmt.where(App.space_guid.in_(ctx.perms.readable_space_guids()))
    if "name" in filters:
        stmt = stmt.where(App.name == filters["name"])
    if "space_guid" in filters:
        stmt = stmt.where(App.space_guid == filters["space_guid"])
    apps = list(ctx.db.scalars(stmt.order_by(App.id)))
    webs = {
        p.app_guid: p
        for p in ctx.db.scalars(
            select(Process).where(Process.app_guid.in_([a.guid for a in apps]), Process.type == "web")
        )
    }
    return cf_json(present_v2_list([present_v2_app(a, webs.get(a.guid)) for a in apps]))


def show_app(ctx: RequestContext) -> Response:
    guid = ctx.param("guid")
    app, _ = readable_in_space(ctx, App, guid, CFError("AppNotFound", guid))
    web = ctx.db.scalars(select(Process).where(Process.app_guid == app.guid, Process.type == "web")).first()
    return cf_json(present_v2_app(app, web))


def list_ups_bindings(ctx: RequestContext) -> Response:
    guid = ctx.param("guid")
    instance, _ = readable_in_space(ctx, ServiceInstance, guid, CFError("ServiceInstanceNotFound", guid))
    bindings = ctx.db.scalars(
        select(ServiceBinding).where(ServiceBinding.service_instance_guid == instance.guid).order_by(ServiceBinding.id)
    )
    return cf_json(present_v2_list([present_v2_binding(b) for b in bindings]))


def list_space_instances(ctx: RequestContext) -> Response:
    _, ref = _readable_space(ctx, ctx.param("guid"))
    filters = _filters(ctx)
    # Every instance is user-provided, so without the flag the CLI asks for none of them.
    if ctx.query.get("return_user_provided_service_instances") != "true":
        return cf_json(present_v2_list([]))
    secrets = ctx.perms.can_read_secrets_in_space(ref)
    instances = space_instances(ctx.db, ref.space_guid, filters.get("name"))
    return cf_json(present_v2_list([present_v2_ups(i, with_credentials=secrets) for i in instances]))


def _v3_create_body(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "user-provided", "name": body.get("name")}
    for key in ("credentials", "syslog_drain_url", "route_service_url", "tags"):
        if key in body:
            out[key] = body[key]
    out["relationships"] = {"space": {"data": {"guid": body.get("space_guid")}}}
    return out


def create_ups(ctx: RequestContext) -> Response:
    if not ctx.perms.is_admin:  # Cloud Controller checks this flag for everyone but admins
        require_flag(ctx.db, "service_instance_creation", ctx.identity)
    body = ctx.json()
    try:
        msg = parse_instance_create(_v3_create_body(body))
    except CFError as exc:
        raise CFError("ServiceInstanceInvalid", exc.detail) from None
    _, ref = _readable_space(ctx, msg.space_guid)
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    try:
        instance = create_instance(ctx.db, ctx.deps.settings, msg, ref, actor_of(ctx.user))
    except CFError as exc:
        if exc.name == "UnprocessableEntity":
            raise CFError("ServiceInstanceNameTaken", msg.name) from None
        raise
    return cf_json(present_v2_ups(instance, with_credentials=True), status=201)


def create_service_binding(ctx: RequestContext) -> Response:
    body = ctx.json()
    instance_guid = str(body.get("service_instance_guid") or "")
    app_guid = str(body.get("app_guid") or "")
    instance, _ = readable_in_space(
        ctx, ServiceInstance, instance_guid, CFError("ServiceInstanceNotFound", instance_guid)
    )
    app, app_ref = readable_in_space(ctx, App, app_guid, CFError("AppNotFound", app_guid))
    require(ctx.perms.can_manage_apps_in_space(app_ref))
    require_active_space(ctx, app_ref)
    parameters = body.get("parameters")
    name = body.get("name")
    try:
        binding = create_binding(
            ctx.db,
            ctx.deps.settings,
            instance,
            app,
            app_ref,
            actor=actor_of(ctx.user),
            name=name if isinstance(name, str) and name else None,
            parameters=parameters if isinstance(parameters, dict) else None,
            metadata=None,
        )
    except CFError as exc:
        if exc.detail == ALREADY_BOUND:
            raise CFError("ServiceBindingAppServiceTaken", ALREADY_BOUND) from None
        raise
    return cf_json(present_v2_binding(binding), status=201)


def routes() -> list[BaseRoute]:
    return [
        get("/v2/info", info, access="public", v2=True),
        get("/v2/spaces/{guid}/summary", space_summary, v2=True),
        get("/v2/services", list_services, v2=True),
        get("/v2/apps", list_apps, v2=True),
        get("/v2/apps/{guid}", show_app, v2=True),
        get("/v2/user_provided_service_instances/{guid}/service_bindings", list_ups_bindings, v2=True),
        get("/v2/spaces/{guid}/service_instances", list_space_instances, v2=True),
        post("/v2/user_provided_service_instances", create_ups, v2=True),
        post("/v2/service_bindings", create_service_binding, v2=True),
    ]
