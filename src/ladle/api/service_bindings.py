"""``/v3/service_credential_bindings`` of type ``app`` (to user-provided instances).

Visible to whoever may read the instance's space; the ``details`` (credentials) only to those
who may see its secrets, and to anyone else it is 404, as Cloud Controller answers.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.audit import actor_of
from ladle.actions.metadata_update import update_resource_metadata
from ladle.actions.service_bindings import create_binding, delete_binding
from ladle.api.guards import readable_in_space, require, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.lookup import by_guid, space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import App, ServiceBinding, ServiceInstance
from ladle.db.permissions import SpaceRef
from ladle.db.services import bindings_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.metadata import parse_metadata_update
from ladle.messages.service_binding import parse_binding_create
from ladle.presenters.app import present_app
from ladle.presenters.pagination import present_page
from ladle.presenters.service_binding import present_binding, present_binding_details
from ladle.presenters.service_instance import present_service_instance

__all__ = ["routes"]

ARRAYS = (
    "names",
    "service_instance_guids",
    "service_instance_names",
    "service_plan_names",
    "service_plan_guids",
    "service_offering_names",
    "service_offering_guids",
    "app_guids",
    "app_names",
)
LIST = ListSpec(
    keys=(*ARRAYS, "include", "type"),
    array_keys=frozenset((*ARRAYS, "include")),
    order_by=("created_at", "updated_at", "name"),
    include=("app", "service_instance"),
)
NOT_FOUND = CFError("ResourceNotFound", "Service credential binding not found")


def _readable(ctx: RequestContext) -> tuple[ServiceBinding, ServiceInstance, SpaceRef]:
    binding = by_guid(ctx.db, ServiceBinding, ctx.param("guid"))
    instance = by_guid(ctx.db, ServiceInstance, binding.service_instance_guid) if binding else None
    ref = space_ref(ctx.db, instance.space_guid) if instance else None
    if binding is None or instance is None or ref is None or not ctx.perms.can_read_from_space(ref):
        raise NOT_FOUND
    return binding, instance, ref


def _present(ctx: RequestContext, bindings: list[ServiceBinding]) -> list[dict[str, object]]:
    metadata = load_metadata(ctx.db, "service_credential_binding", [b.guid for b in bindings])
    return [present_binding(b, metadata[b.guid], ctx.urls) for b in bindings]


def _included(ctx: RequestContext, bindings: list[ServiceBinding], include: list[str]) -> dict[str, object] | None:
    if not include:
        return None
    included: dict[str, object] = {}
    if "app" in include:
        guids = list(dict.fromkeys(b.app_guid for b in bindings))
        apps = list(ctx.db.scalars(select(App).where(App.guid.in_(guids)).order_by(App.created_at)))
        metadata = load_metadata(ctx.db, "app", [a.guid for a in apps])
        included["apps"] = [present_app(a, metadata[a.guid], ctx.urls) for a in apps]
    if "service_instance" in include:
        guids = list(dict.fromkeys(b.service_instance_guid for b in bindings))
        instances = list(
            ctx.db.scalars(
                select(ServiceInstance).where(ServiceInstance.guid.in_(guids)).order_by(ServiceInstance.created_at)
            )
        )
        metadata = load_metadata(ctx.db, "service_instance", [i.guid for i in instances])
        included["service_instances"] = [present_service_instance(i, metadata[i.guid], ctx.urls) for i in instances]
    return included


def list_bindings(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    kind = params.scalars.get("type")
    if kind is not None and kind not in ("app", "key"):
        raise CFError("BadQueryParameter", "Type must be one of 'app', 'key'")
    page = bindings_page(ctx.db, ctx.perms, params)
    included = _included(ctx, page.rows, params.include)
    body = present_page(
        _present(ctx, page.rows), page.total, params, ctx.urls.v3("service_credential_bindings"), included
    )
    return cf_json(body)


def show(ctx: RequestContext) -> Response:
    binding, _, _ = _readable(ctx)
    return cf_json(_present(ctx, [binding])[0])


def details(ctx: RequestContext) -> Response:
    binding, _, ref = _readable(ctx)
    if not ctx.perms.can_read_secrets_in_space(ref):
        raise NOT_FOUND
    return cf_json(present_binding_details(binding))


def create(ctx: RequestContext) -> Response:
    msg = parse_binding_create(ctx.json())
    missing_instance = f"The service instance could not be found: '{msg.service_instance_guid}'"
    instance, _ = readable_in_space(
        ctx, ServiceInstance, msg.service_instance_guid, CFError("UnprocessableEntity", missing_instance)
    )
    if msg.parameters:
        raise CFError("UnprocessableEntity", "Binding parameters are not supported for user-provided service instances")
    missing_app = f"The app could not be found: '{msg.app_guid}'"
    app, app_ref = readable_in_space(ctx, App, msg.app_guid, CFError("UnprocessableEntity", missing_app))
    require(ctx.perms.can_manage_apps_in_space(app_ref))
    require_active_space(ctx, app_ref)
    binding = create_binding(
        ctx.db,
        ctx.deps.settings,
        instance,
        app,
        app_ref,
        actor=actor_of(ctx.user),
        name=msg.name,
        parameters=msg.parameters,
        metadata=msg.metadata,
    )
    return cf_json(_present(ctx, [binding])[0], status=201)


def update(ctx: RequestContext) -> Response:
    """Only metadata changes (Cloud Controller's rule: whoever may write to the space)."""
    binding, _, ref = _readable(ctx)
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    metadata = parse_metadata_update(ctx.json())
    update_resource_metadata(ctx.db, ctx.deps.settings, "service_credential_binding", binding, metadata)
    return cf_json(_present(ctx, [binding])[0])


def remove(ctx: RequestContext) -> Response:
    binding, instance, ref = _readable(ctx)
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    delete_binding(ctx.db, binding, instance, ref, actor_of(ctx.user))
    return no_content()


def routes() -> list[BaseRoute]:
    return [
        get("/v3/service_credential_bindings", list_bindings),
        post("/v3/service_credential_bindings", create),
        get("/v3/service_credential_bindings/{guid}", show),
        patch("/v3/service_credential_bindings/{guid}", update),
        delete("/v3/service_credential_bindings/{guid}", remove),
        get("/v3/service_credential_bindings/{guid}/details", details),
    ]
