"""``/v3/organizations``."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.deletion import request_cascade_delete
from ladle.actions.organizations import create_organization, update_organization
from ladle.api.guards import require, require_active_org
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, patch, post
from ladle.db.feature_flags import get_flag
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import Organization
from ladle.db.orgs_spaces import organizations_page
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.organization import ORGANIZATION_FIELDS, parse_organization_create, parse_organization_update
from ladle.presenters.organization import present_organization
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(
    keys=("names", "isolation_segment_guid"),
    array_keys=frozenset({"names"}),
    order_by=("created_at", "updated_at", "name"),
)


def _present(ctx: RequestContext, org: Organization) -> dict[str, object]:
    return present_organization(org, load_metadata(ctx.db, "organization", [org.guid])[org.guid], ctx.urls)


def readable_org(ctx: RequestContext, guid: str) -> Organization:
    org = by_guid(ctx.db, Organization, guid)
    if org is None or not ctx.perms.can_read_org(org.guid):
        raise CFError("ResourceNotFound", "Organization not found")
    return org


def list_organizations(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = organizations_page(ctx.db, ctx.perms, params)
    metadata = load_metadata(ctx.db, "organization", [o.guid for o in page.rows])
    resources = [present_organization(o, metadata[o.guid], ctx.urls) for o in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("organizations")))


def show_organization(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, readable_org(ctx, ctx.param("guid"))))


def create_org(ctx: RequestContext) -> Response:
    flag = get_flag(ctx.db, "user_org_creation")
    require(ctx.perms.is_admin or bool(flag and flag.enabled))
    body = ctx.json()
    change = parse_organization_create(body)
    org = create_organization(ctx.db, ctx.deps.settings, change, ctx.user, request=body)
    return cf_json(_present(ctx, org), status=201)


def update_org(ctx: RequestContext) -> Response:
    org = readable_org(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_org(org.guid))
    require_active_org(ctx, org)
    change = parse_organization_update(ctx.json())
    return cf_json(_present(ctx, update_organization(ctx.db, ctx.deps.settings, org, change)))


def delete_org(ctx: RequestContext) -> Response:
    org = readable_org(ctx, ctx.param("guid"))
    require(ctx.perms.is_admin)
    return accepted_job(ctx, request_cascade_delete(ctx.db, ctx.deps.executor, org, ctx.user.user_guid))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/organizations", list_organizations, query=LIST),
        post("/v3/organizations", create_org, body=ORGANIZATION_FIELDS),
        get("/v3/organizations/{guid}", show_organization),
        patch("/v3/organizations/{guid}", update_org, body=ORGANIZATION_FIELDS),
        delete("/v3/organizations/{guid}", delete_org),
    ]
