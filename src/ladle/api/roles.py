"""``/v3/roles``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.roles import create_org_role, create_space_role, request_role_delete
from ladle.api.guards import require, require_active_org, require_active_space
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, post
from ladle.db.feature_flags import require_flag
from ladle.db.listing import Page
from ladle.db.lookup import by_guid, space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import Organization, Role, Space
from ladle.db.orgs_spaces import organizations_by_guid, spaces_by_guid
from ladle.db.roles_users import readable_role, roles_page, users_by_guid
from ladle.errors import CFError
from ladle.messages.lists import ListSpec, parse_list
from ladle.messages.role_create import ROLE_CREATE_FIELDS, parse_role_create
from ladle.messages.show import parse_show_query
from ladle.presenters.organization import present_organization
from ladle.presenters.pagination import present_page
from ladle.presenters.role import present_role
from ladle.presenters.space import present_space
from ladle.presenters.user import present_user

__all__ = ["routes"]

INCLUDE = ("user", "space", "organization")
LIST = ListSpec(
    keys=("organization_guids", "space_guids", "user_guids", "types", "include"),
    array_keys=frozenset({"organization_guids", "space_guids", "user_guids", "types"}),
    labels=False,
    include=INCLUDE,
)


def _included(ctx: RequestContext, includes: list[str], roles: list[Role]) -> dict[str, Any] | None:
    if not includes:
        return None
    out: dict[str, Any] = {}
    if "user" in includes:
        users = users_by_guid(ctx.db, {r.user_guid for r in roles})
        metadata = load_metadata(ctx.db, "user", [u.guid for u in users])
        out["users"] = [present_user(u, metadata[u.guid], ctx.urls) for u in users]
    if "organization" in includes:
        orgs = organizations_by_guid(ctx.db, {r.organization_guid for r in roles if r.organization_guid})
        metadata = load_metadata(ctx.db, "organization", [o.guid for o in orgs])
        out["organizations"] = [present_organization(o, metadata[o.guid], ctx.urls) for o in orgs]
    if "space" in includes:
        spaces = spaces_by_guid(ctx.db, {r.space_guid for r in roles if r.space_guid})
        metadata = load_metadata(ctx.db, "space", [s.guid for s in spaces])
        out["spaces"] = [present_space(s, metadata[s.guid], ctx.urls) for s in spaces]
    return out


def list_roles(ctx: RequestContext) -> Response:
    params, problems = parse_list(ctx.query, LIST, ctx.deps.settings.max_total_results)
    if problems:
        # The roles list reports bad parameters as 422, unlike most lists.
        raise CFError("UnprocessableEntity", problems)
    page: Page[Role] = roles_page(ctx.db, ctx.perms, params)
    resources = [present_role(r, ctx.urls) for r in page.rows]
    included = _included(ctx, params.include, page.rows)
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("roles"), included))


def _readable_role(ctx: RequestContext) -> Role:
    role = readable_role(ctx.db, ctx.perms, ctx.param("guid"))
    if role is None:
        raise CFError("ResourceNotFound", "Role not found")
    return role


def show_role(ctx: RequestContext) -> Response:
    includes, problems = parse_show_query(ctx.query, INCLUDE)
    if problems:
        raise CFError("BadQueryParameter", problems)
    role = _readable_role(ctx)
    body = present_role(role, ctx.urls)
    if (included := _included(ctx, includes, [role])) is not None:
        body["included"] = included
    return cf_json(body)


def create_role(ctx: RequestContext) -> Response:
    msg = parse_role_create(ctx.json())
    if msg.username is not None:
        require_flag(ctx.db, "set_roles_by_username", ctx.identity)
    if msg.is_space_role:
        space = by_guid(ctx.db, Space, msg.space_guid or "")
        ref = space_ref(ctx.db, space.guid) if space else None
        if space is None or ref is None or not ctx.perms.can_read_from_space(ref):
            raise CFError(
                "UnprocessableEntity",
                "Invalid space. Ensure that the space exists and you have access to it.",
            )
        require(ctx.perms.can_update_space(ref))
        require_active_space(ctx, ref)
        role = create_space_role(ctx.db, msg, space)
    else:
        org = by_guid(ctx.db, Organization, msg.organization_guid or "")
        if org is None or not ctx.perms.can_read_org(org.guid):
            raise CFError(
                "UnprocessableEntity",
                "Invalid organization. Ensure that the organization exists and you have access to it.",
            )
        require(ctx.perms.can_write_org(org.guid))
        require_active_org(ctx, org)
        role = create_org_role(ctx.db, msg, org)
    return cf_json(present_role(role, ctx.urls), status=201)


def delete_role(ctx: RequestContext) -> Response:
    role = _readable_role(ctx)
    if role.space_guid is not None:
        ref = space_ref(ctx.db, role.space_guid)
        assert ref is not None
        if not ctx.perms.can_read_from_space(ref):
            raise CFError("ResourceNotFound", "Role not found")
        require(ctx.perms.can_update_space(ref))
        require_active_space(ctx, ref)
    else:
        org = by_guid(ctx.db, Organization, role.organization_guid or "")
        assert org is not None
        require(ctx.perms.can_write_org(org.guid))
        require_active_org(ctx, org)
    return accepted_job(ctx, request_role_delete(ctx.db, ctx.deps.executor, role, ctx.user.user_guid))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/roles", list_roles, query=LIST),
        post("/v3/roles", create_role, body=ROLE_CREATE_FIELDS),
        get("/v3/roles/{guid}", show_role),
        delete("/v3/roles/{guid}", delete_role),
    ]
