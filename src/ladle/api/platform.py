"""What the platform defines itself, read-only: ``/v3/security_groups`` (the sandbox's egress rules),
``/v3/isolation_segments`` (the shared segment) and the org and space relationships to them that
``cf org`` and ``cf space`` read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.api.listing import parse_list_or_raise
from ladle.api.organizations import readable_org
from ladle.api.routing import RequestContext, cf_json, get
from ladle.api.spaces import readable_space
from ladle.db.platform import platform_created_at
from ladle.errors import CFError
from ladle.messages.lists import ListParams, ListSpec
from ladle.presenters.pagination import present_page
from ladle.presenters.platform import (
    SHARED_ISOLATION_SEGMENT_GUID,
    present_isolation_segment,
    present_security_group,
    security_group_guid,
)
from ladle.sandbox.config import SandboxConfig
from ladle.sandbox.security_groups import SecurityGroup, sandbox_security_groups
from ladle.urls import link

__all__ = ["routes"]

GROUPS_LIST = ListSpec(
    keys=(
        "names",
        "globally_enabled_running",
        "globally_enabled_staging",
        "running_space_guids",
        "staging_space_guids",
    ),
    array_keys=frozenset({"names", "running_space_guids", "staging_space_guids"}),
    labels=False,
)
SPACE_GROUPS_LIST = ListSpec(keys=("names",), array_keys=frozenset({"names"}), labels=False)
SEGMENTS_LIST = ListSpec(
    keys=("names", "organization_guids"),
    array_keys=frozenset({"names", "organization_guids"}),
    order_by=("created_at", "updated_at", "name"),
)


def _page(ctx: RequestContext, params: ListParams, rows: list[dict[str, Any]], path: str) -> Response:
    """A list of what is computed, not stored: filtered already, ordered and paged here."""
    if params.order_by is not None:
        rows = sorted(rows, key=lambda r: (r[params.order_by or "created_at"], r["guid"]), reverse=params.descending)
    start = (params.page - 1) * params.per_page
    return cf_json(present_page(rows[start : start + params.per_page], len(rows), params, path))


def _groups(ctx: RequestContext) -> list[SecurityGroup]:
    return sandbox_security_groups(SandboxConfig.from_settings(ctx.deps.settings))


def _group_rows(
    ctx: RequestContext, params: ListParams, keep: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    at = platform_created_at(ctx.db)
    rows = [present_security_group(g, at, ctx.urls) for g in _groups(ctx)]
    if "names" in params.arrays:
        rows = [r for r in rows if r["name"] in params.arrays["names"]]
    if "guids" in params.arrays:
        rows = [r for r in rows if r["guid"] in params.arrays["guids"]]
    return [r for r in rows if keep(r)]


def _flag(params: ListParams, key: str) -> bool | None:
    value = params.scalars.get(key)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise CFError("BadQueryParameter", f"{key.replace('_', ' ').capitalize()} must be a boolean")
    return value == "true"


def list_security_groups(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, GROUPS_LIST)
    running, staging = _flag(params, "globally_enabled_running"), _flag(params, "globally_enabled_staging")

    def keep(row: dict[str, Any]) -> bool:
        # No group is bound to particular spaces: every one applies everywhere.
        if "running_space_guids" in params.arrays or "staging_space_guids" in params.arrays:
            return False
        enabled = row["globally_enabled"]
        return (running is None or enabled["running"] == running) and (staging is None or enabled["staging"] == staging)

    return _page(ctx, params, _group_rows(ctx, params, keep), ctx.urls.v3("security_groups"))


def show_security_group(ctx: RequestContext) -> Response:
    guid = ctx.param("guid")
    for group in _groups(ctx):
        if security_group_guid(group.name) == guid:
            return cf_json(present_security_group(group, platform_created_at(ctx.db), ctx.urls))
    raise CFError("ResourceNotFound", "Security group not found")


def _space_groups(lifecycle: str) -> Callable[[RequestContext], Response]:
    def handler(ctx: RequestContext) -> Response:
        space, _, _ = readable_space(ctx, ctx.param("guid"))
        params = parse_list_or_raise(ctx, SPACE_GROUPS_LIST)
        rows = _group_rows(ctx, params, lambda r: bool(r["globally_enabled"][lifecycle]))
        return _page(ctx, params, rows, ctx.urls.v3("spaces", space.guid, f"{lifecycle}_security_groups"))

    return handler


def list_isolation_segments(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, SEGMENTS_LIST)
    rows: list[dict[str, Any]] = []
    # Only global readers see the shared segment: no organization is entitled to a segment (Ladle
    # places every instance alike), so an org filter or an org member finds none.
    if ctx.perms.reads_globally and "organization_guids" not in params.arrays:
        rows = [present_isolation_segment(platform_created_at(ctx.db), ctx.urls)]
    if "names" in params.arrays:
        rows = [r for r in rows if r["name"] in params.arrays["names"]]
    if "guids" in params.arrays:
        rows = [r for r in rows if r["guid"] in params.arrays["guids"]]
    if params.label_selector:
        rows = []
    return _page(ctx, params, rows, ctx.urls.v3("isolation_segments"))


def show_isolation_segment(ctx: RequestContext) -> Response:
    if ctx.param("guid") != SHARED_ISOLATION_SEGMENT_GUID or not ctx.perms.reads_globally:
        raise CFError("ResourceNotFound", "Isolation segment not found")
    return cf_json(present_isolation_segment(platform_created_at(ctx.db), ctx.urls))


def org_default_segment(ctx: RequestContext) -> Response:
    org = readable_org(ctx, ctx.param("guid"))
    href = ctx.urls.v3("organizations", org.guid, "relationships", "default_isolation_segment")
    return cf_json({"data": None, "links": {"self": link(href)}})


def space_segment(ctx: RequestContext) -> Response:
    space, _, _ = readable_space(ctx, ctx.param("guid"))
    href = ctx.urls.v3("spaces", space.guid, "relationships", "isolation_segment")
    return cf_json({"data": None, "links": {"self": link(href)}})


def routes() -> list[BaseRoute]:
    return [
        get("/v3/security_groups", list_security_groups),
        get("/v3/security_groups/{guid}", show_security_group),
        get("/v3/spaces/{guid}/running_security_groups", _space_groups("running")),
        get("/v3/spaces/{guid}/staging_security_groups", _space_groups("staging")),
        get("/v3/isolation_segments", list_isolation_segments),
        get("/v3/isolation_segments/{guid}", show_isolation_segment),
        get("/v3/organizations/{guid}/relationships/default_isolation_segment", org_default_segment),
        get("/v3/spaces/{guid}/relationships/isolation_segment", space_segment),
    ]
