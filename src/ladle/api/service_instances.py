"""``/v3/service_instances``: user-provided instances (there are no brokers, so no managed ones).

Who may see an instance: whoever may read its space. Its ``credentials`` only those who may
see the space's secrets (admins, read-only admins, space developers); everyone else who can see
the instance gets 403, as from Cloud Controller.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.audit import actor_of
from ladle.actions.service_instances import create_instance, delete_instance, record_credentials_read, update_instance
from ladle.api.guards import readable_in_space, require, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.feature_flags import require_flag
from ladle.db.lookup import space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import Organization, ServiceInstance, Space
from ladle.db.permissions import SpaceRef
from ladle.db.services import instances_page
from ladle.errors import CFError
from ladle.messages.fields import SERVICE_INSTANCE_FIELDS, parse_fields
from ladle.messages.lists import ListSpec
from ladle.messages.service_instance import parse_instance_create, parse_instance_update
from ladle.presenters.pagination import present_page
from ladle.presenters.service_instance import present_fields_included, present_service_instance

__all__ = ["readable_instance", "routes"]

ARRAYS = ("names", "space_guids", "organization_guids", "service_plan_guids", "service_plan_names")
LIST = ListSpec(
    keys=(*ARRAYS, "type", "fields"),
    array_keys=frozenset(ARRAYS),
    order_by=("created_at", "updated_at", "name"),
)
NOT_FOUND = CFError("ResourceNotFound", "Service instance not found")


def readable_instance(ctx: RequestContext, guid: str) -> tuple[ServiceInstance, SpaceRef]:
    return readable_in_space(ctx, ServiceInstance, guid, NOT_FOUND)


def _writable_instance(ctx: RequestContext) -> tuple[ServiceInstance, SpaceRef]:
    instance, ref = readable_instance(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return instance, ref


def _present(ctx: RequestContext, instances: list[ServiceInstance]) -> list[dict[str, object]]:
    metadata = load_metadata(ctx.db, "service_instance", [i.guid for i in instances])
    return [present_service_instance(i, metadata[i.guid], ctx.urls) for i in instances]


def _included(ctx: RequestContext, instances: list[ServiceInstance]) -> dict[str, object] | None:
    fields = parse_fields(ctx.query, SERVICE_INSTANCE_FIELDS)
    if not fields:
        return None
    space_guids = list(dict.fromkeys(i.space_guid for i in instances))
    spaces = list(ctx.db.scalars(select(Space).where(Space.guid.in_(space_guids)).order_by(Space.created_at)))
    org_guids = list(dict.fromkeys(s.organization_guid for s in spaces))
    orgs = list(
        ctx.db.scalars(select(Organization).where(Organization.guid.in_(org_guids)).order_by(Organization.created_at))
    )
    return present_fields_included(fields, spaces, orgs)


def list_instances(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    kind = params.scalars.get("type")
    if kind is not None and kind not in ("managed", "user-provided"):
        raise CFError("BadQueryParameter", "Type must be one of 'managed', 'user-provided'")
    page = instances_page(ctx.db, ctx.perms, params)
    included = _included(ctx, page.rows)
    body = present_page(_present(ctx, page.rows), page.total, params, ctx.urls.v3("service_instances"), included)
    return cf_json(body)


def show(ctx: RequestContext) -> Response:
    instance, _ = readable_instance(ctx, ctx.param("guid"))
    body = _present(ctx, [instance])[0]
    included = _included(ctx, [instance])
    if included is not None:
        body["included"] = included
    return cf_json(body)


def create(ctx: RequestContext) -> Response:
    if not ctx.perms.is_admin:  # Cloud Controller checks this flag for everyone but admins
        require_flag(ctx.db, "service_instance_creation", ctx.identity)
    msg = parse_instance_create(ctx.json())
    ref = space_ref(ctx.db, msg.space_guid)
    if ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("UnprocessableEntity", "Invalid space. Ensure that the space exists and you have access to it.")
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    instance = create_instance(ctx.db, ctx.deps.settings, msg, ref, actor_of(ctx.user))
    return cf_json(_present(ctx, [instance])[0], status=201)


def update(ctx: RequestContext) -> Response:
    instance, ref = _writable_instance(ctx)
    msg = parse_instance_update(ctx.json())
    update_instance(ctx.db, ctx.deps.settings, instance, msg, ref, actor=actor_of(ctx.user))
    return cf_json(_present(ctx, [instance])[0])


def remove(ctx: RequestContext) -> Response:
    instance, ref = _writable_instance(ctx)
    delete_instance(ctx.db, instance, ref, actor_of(ctx.user))
    return no_content()


def credentials(ctx: RequestContext) -> Response:
    instance, ref = readable_instance(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_secrets_in_space(ref))
    record_credentials_read(ctx.db, instance, ref, actor_of(ctx.user))
    return cf_json(instance.credentials or {})


def routes() -> list[BaseRoute]:
    return [
        get("/v3/service_instances", list_instances),
        post("/v3/service_instances", create),
        get("/v3/service_instances/{guid}", show),
        patch("/v3/service_instances/{guid}", update),
        delete("/v3/service_instances/{guid}", remove),
        get("/v3/service_instances/{guid}/credentials", credentials),
    ]
