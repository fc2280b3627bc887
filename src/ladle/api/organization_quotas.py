"""``/v3/organization_quotas``: any user reads them, admins create, change, apply and delete them."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.quotas import (
    apply_organization_quota,
    create_organization_quota,
    request_quota_delete,
    update_quota,
)
from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, patch, post
from ladle.db.lookup import by_guid
from ladle.db.models import OrganizationQuota
from ladle.db.quotas import organization_quotas_page, orgs_with_quota
from ladle.errors import CFError
from ladle.messages.base import Errors
from ladle.messages.lists import ListSpec
from ladle.messages.quota import parse_guid_list, parse_organization_quota
from ladle.presenters.pagination import present_page
from ladle.presenters.quota import present_organization_quota, present_quota_relationship

__all__ = ["routes"]

LIST = ListSpec(
    keys=("names", "organization_guids"),
    array_keys=frozenset({"names", "organization_guids"}),
    order_by=("created_at", "updated_at", "name"),
    labels=False,
)


def _visible_orgs(ctx: RequestContext, guids: list[str]) -> list[str]:
    """An org quota names only the organizations the caller may see."""
    return ctx.perms.only_visible(guids, ctx.perms.readable_org_guids)


def _present(ctx: RequestContext, quota: OrganizationQuota, status: int = 200) -> Response:
    orgs = orgs_with_quota(ctx.db, [quota.guid])[quota.guid]
    return cf_json(
        present_organization_quota(quota, _visible_orgs(ctx, orgs), ctx.urls),
        status=status,
    )


def _quota(ctx: RequestContext) -> OrganizationQuota:
    quota = by_guid(ctx.db, OrganizationQuota, ctx.param("guid"))
    if quota is None:
        raise CFError("ResourceNotFound", "Organization quota not found")
    return quota


def list_quotas(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = organization_quotas_page(ctx.db, params)
    orgs = orgs_with_quota(ctx.db, [q.guid for q in page.rows])
    resources = [present_organization_quota(q, _visible_orgs(ctx, orgs[q.guid]), ctx.urls) for q in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("organization_quotas")))


def show(ctx: RequestContext) -> Response:
    return _present(ctx, _quota(ctx))


def create(ctx: RequestContext) -> Response:
    require(ctx.perms.is_admin)
    change = parse_organization_quota(ctx.json(), create=True)
    return _present(ctx, create_organization_quota(ctx.db, change), status=201)


def update(ctx: RequestContext) -> Response:
    quota = _quota(ctx)
    require(ctx.perms.is_admin)
    change = parse_organization_quota(ctx.json(), create=False)
    update_quota(ctx.db, quota, change)
    return _present(ctx, quota)


def delete_quota(ctx: RequestContext) -> Response:
    quota = _quota(ctx)
    require(ctx.perms.is_admin)
    return accepted_job(ctx, request_quota_delete(ctx.db, ctx.deps.executor, quota, ctx.user.user_guid))


def apply_to_orgs(ctx: RequestContext) -> Response:
    quota = _quota(ctx)
    require(ctx.perms.is_admin)
    errors = Errors()
    guids = parse_guid_list(ctx.json(), errors, "data")
    errors.raise_if_any()
    applied = apply_organization_quota(ctx.db, quota, guids, visible=None)
    ctx.db.commit()
    href = ctx.urls.v3("organization_quotas", quota.guid, "relationships", "organizations")
    return cf_json(present_quota_relationship(applied, href))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/organization_quotas", list_quotas),
        post("/v3/organization_quotas", create),
        get("/v3/organization_quotas/{guid}", show),
        patch("/v3/organization_quotas/{guid}", update),
        delete("/v3/organization_quotas/{guid}", delete_quota),
        post("/v3/organization_quotas/{guid}/relationships/organizations", apply_to_orgs),
    ]
