"""``/v3/spaces``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.audit import actor_of
from ladle.actions.deletion import request_cascade_delete
from ladle.actions.spaces import create_space, update_space
from ladle.api.guards import require, require_active_org, require_active_space
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, patch, post
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import Organization, Space
from ladle.db.orgs_spaces import organizations_by_guid, spaces_page
from ladle.db.permissions import SpaceRef
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.show import parse_show_query
from ladle.messages.space import SPACE_CREATE_FIELDS, SPACE_UPDATE_FIELDS, parse_space_create, parse_space_update
from ladle.presenters.organization import present_organization
from ladle.presenters.pagination import present_page
from ladle.presenters.space import present_space

__all__ = ["routes"]

INCLUDE = ("org", "organization")
LIST = ListSpec(
    keys=("names", "organization_guids", "include"),
    array_keys=frozenset({"names", "organization_guids"}),
    order_by=("created_at", "updated_at", "name"),
    include=INCLUDE,
)


def _included_orgs(ctx: RequestContext, org_guids: set[str]) -> dict[str, Any]:
    orgs = organizations_by_guid(ctx.db, org_guids)
    metadata = load_metadata(ctx.db, "organization", [o.guid for o in orgs])
    return {"organizations": [present_organization(o, metadata[o.guid], ctx.urls) for o in orgs]}


def readable_space(ctx: RequestContext, guid: str) -> tuple[Space, Organization, SpaceRef]:
    space = by_guid(ctx.db, Space, guid)
    org = by_guid(ctx.db, Organization, space.organization_guid) if space else None
    if space is None or org is None:
        raise CFError("ResourceNotFound", "Space not found")
    ref = SpaceRef(space.guid, org.guid, org.suspended)
    if not ctx.perms.can_read_from_space(ref):
        raise CFError("ResourceNotFound", "Space not found")
    return space, org, ref


def _present(ctx: RequestContext, space: Space) -> dict[str, Any]:
    return present_space(space, load_metadata(ctx.db, "space", [space.guid])[space.guid], ctx.urls)


def list_spaces(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = spaces_page(ctx.db, ctx.perms, params)
    metadata = load_metadata(ctx.db, "space", [s.guid for s in page.rows])
    resources = [present_space(s, metadata[s.guid], ctx.urls) for s in page.rows]
    included = _included_orgs(ctx, {s.organization_guid for s in page.rows}) if params.include else None
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("spaces"), included))


def show_space(ctx: RequestContext) -> Response:
    includes, problems = parse_show_query(ctx.query, INCLUDE)
    if problems:
        raise CFError("BadQueryParameter", problems)
    space, org, _ = readable_space(ctx, ctx.param("guid"))
    body = _present(ctx, space)
    if includes:
        body["included"] = _included_orgs(ctx, {org.guid})
    return cf_json(body)


def create(ctx: RequestContext) -> Response:
    body = ctx.json()
    change = parse_space_create(body)
    org = by_guid(ctx.db, Organization, change.organization_guid or "")
    if org is None or not ctx.perms.can_read_org(org.guid):
        raise CFError(
            "UnprocessableEntity",
            "Invalid organization. Ensure the organization exists and you have access to it.",
        )
    require(ctx.perms.can_write_org(org.guid))
    require_active_org(ctx, org)
    return cf_json(
        _present(ctx, create_space(ctx.db, ctx.deps.settings, org, change, actor_of(ctx.user), request=body)),
        status=201,
    )


def update(ctx: RequestContext) -> Response:
    space, org, ref = readable_space(ctx, ctx.param("guid"))
    require(ctx.perms.can_update_space(ref))
    require_active_space(ctx, ref)
    change = parse_space_update(ctx.json())
    return cf_json(_present(ctx, update_space(ctx.db, ctx.deps.settings, space, org, change)))


def delete_space(ctx: RequestContext) -> Response:
    space, org, ref = readable_space(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_org(org.guid))
    require_active_space(ctx, ref)
    return accepted_job(ctx, request_cascade_delete(ctx.db, ctx.deps.executor, space, ctx.user.user_guid))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/spaces", list_spaces, query=LIST),
        post("/v3/spaces", create, body=SPACE_CREATE_FIELDS),
        get("/v3/spaces/{guid}", show_space),
        patch("/v3/spaces/{guid}", update, body=SPACE_UPDATE_FIELDS),
        delete("/v3/spaces/{guid}", delete_space),
    ]
