"""``/v3/space_quotas``: an organization's managers (and admins) define them and apply them to its
spaces; the people of those spaces can read them."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.quotas import (
    apply_space_quota,
    create_space_quota,
    remove_space_quota,
    request_quota_delete,
    update_quota,
)
from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.lookup import by_guid
from ladle.db.models import Organization, Space, SpaceQuota
from ladle.db.quotas import space_quota_readable, space_quotas_page, spaces_with_quota
from ladle.errors import CFError
from ladle.messages.base import Errors
from ladle.messages.lists import ListSpec
from ladle.messages.quota import parse_guid_list, parse_space_quota
from ladle.presenters.pagination import present_page
from ladle.presenters.quota import present_quota_relationship, present_space_quota

__all__ = ["routes"]

LIST = ListSpec(
    keys=("names", "organization_guids", "space_guids"),
    array_keys=frozenset({"names", "organization_guids", "space_guids"}),
    order_by=("created_at", "updated_at", "name"),
    labels=False,
)


def _visible_spaces(ctx: RequestContext, guids: list[str]) -> list[str]:
    return ctx.perms.only_visible(guids, ctx.perms.readable_space_guids)


def _present(ctx: RequestContext, quota: SpaceQuota, status: int = 200) -> Response:
    spaces = spaces_with_quota(ctx.db, [quota.guid])[quota.guid]
    return cf_json(
        present_space_quota(quota, _visible_spaces(ctx, spaces), ctx.urls),
        status=status,
    )


def _readable(ctx: RequestContext) -> SpaceQuota:
    quota = by_guid(ctx.db, SpaceQuota, ctx.param("guid"))
    if quota is None or not space_quota_readable(ctx.db, ctx.perms, quota):
        raise CFError("ResourceNotFound", "Space quota not found")
    return quota


def _writable(ctx: RequestContext) -> SpaceQuota:
    quota = _readable(ctx)
    require(ctx.perms.can_write_org(quota.organization_guid))
    return quota


def list_quotas(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = space_quotas_page(ctx.db, ctx.perms, params)
    spaces = spaces_with_quota(ctx.db, [q.guid for q in page.rows])
    resources = [present_space_quota(q, _visible_spaces(ctx, spaces[q.guid]), ctx.urls) for q in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("space_quotas")))


def show(ctx: RequestContext) -> Response:
    return _present(ctx, _readable(ctx))


def create(ctx: RequestContext) -> Response:
    change = parse_space_quota(ctx.json(), create=True)
    org = by_guid(ctx.db, Organization, change.organization_guid or "")
    if org is None or not ctx.perms.can_read_org(org.guid):
        raise CFError(
            "UnprocessableEntity",
            f"Organization with guid '{change.organization_guid}' does not exist, or you do not have access to it.",
        )
    require(ctx.perms.can_write_org(org.guid))
    return _present(ctx, create_space_quota(ctx.db, change, org), status=201)


def update(ctx: RequestContext) -> Response:
    quota = _writable(ctx)
    update_quota(ctx.db, quota, parse_space_quota(ctx.json(), create=False))
    return _present(ctx, quota)


def delete_quota(ctx: RequestContext) -> Response:
    quota = _writable(ctx)
    return accepted_job(ctx, request_quota_delete(ctx.db, ctx.deps.executor, quota, ctx.user.user_guid))


def apply_to_spaces(ctx: RequestContext) -> Response:
    quota = _writable(ctx)
    errors = Errors()
    guids = parse_guid_list(ctx.json(), errors, "data")
    errors.raise_if_any()
    applied = apply_space_quota(ctx.db, quota, guids, visible=None)
    ctx.db.commit()
    href = ctx.urls.v3("space_quotas", quota.guid, "relationships", "spaces")
    return cf_json(present_quota_relationship(_visible_spaces(ctx, applied), href))


def remove_from_space(ctx: RequestContext) -> Response:
    quota = _writable(ctx)
    space = by_guid(ctx.db, Space, ctx.param("space_guid"))
    if space is None or space.organization_guid != quota.organization_guid:
        raise CFError(
            "UnprocessableEntity",
            f"Unable to remove quota from space with guid '{ctx.param('space_guid')}'. "
            "Ensure the space quota is applied to this space.",
        )
    remove_space_quota(ctx.db, quota, space)
    return no_content()


def routes() -> list[BaseRoute]:
    return [
        get("/v3/space_quotas", list_quotas),
        post("/v3/space_quotas", create),
        get("/v3/space_quotas/{guid}", show),
        patch("/v3/space_quotas/{guid}", update),
        delete("/v3/space_quotas/{guid}", delete_quota),
        post("/v3/space_quotas/{guid}/relationships/spaces", apply_to_spaces),
        delete("/v3/space_quotas/{guid}/relationships/spaces/{space_guid}", remove_from_space),
    ]
