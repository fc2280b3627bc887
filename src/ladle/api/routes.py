"""``/v3/routes``, their destinations, ``/v3/apps/:guid/routes`` and ``/v3/spaces/:guid/routes``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.audit import actor_of
from ladle.actions.routes import (
    add_destinations,
    create_route,
    remove_destination,
    replace_destinations,
    request_route_delete,
    request_unmapped_routes_delete,
    update_route,
)
from ladle.api.guards import readable_app, readable_in_space, require, require_active_space
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, delete, get, no_content, patch, post
from ladle.db.feature_flags import require_flag
from ladle.db.lookup import by_guid, space_ref
from ladle.db.metadata import load_metadata
from ladle.db.models import Domain, Organization, Route, RouteDestination, Space
from ladle.db.orgs_spaces import organizations_by_guid, spaces_by_guid
from ladle.db.permissions import SpaceRef
from ladle.db.routes import destinations_of, domains_by_guid, routes_page
from ladle.errors import CFError
from ladle.messages.lists import ListParams, ListSpec
from ladle.messages.route import (
    DESTINATIONS_FIELDS,
    ROUTE_CREATE_FIELDS,
    ROUTE_UPDATE_FIELDS,
    parse_destinations,
    parse_route_create,
    parse_route_update,
)
from ladle.presenters.domain import present_domain
from ladle.presenters.organization import present_organization
from ladle.presenters.pagination import present_page
from ladle.presenters.route import present_destinations, present_route
from ladle.presenters.space import present_space

__all__ = ["routes"]

INCLUDE = ("domain", "space", "space.organization")
FILTERS = (
    "hosts",
    "paths",
    "ports",
    "domain_guids",
    "space_guids",
    "organization_guids",
    "app_guids",
    "service_instance_guids",
)
LIST = ListSpec(keys=(*FILTERS, "include"), array_keys=frozenset(FILTERS), include=INCLUDE)
APP_LIST = ListSpec(
    keys=("hosts", "paths", "ports", "domain_guids", "include"),
    array_keys=frozenset({"hosts", "paths", "ports", "domain_guids"}),
    include=INCLUDE,
)
NOT_FOUND = CFError("ResourceNotFound", "Route not found")


def _present_all(ctx: RequestContext, rows: list[Route]) -> list[dict[str, Any]]:
    domains = domains_by_guid(ctx.db, {r.domain_guid for r in rows})
    destinations = destinations_of(ctx.db, [r.guid for r in rows])
    metadata = load_metadata(ctx.db, "route", [r.guid for r in rows])
    return [present_route(r, domains[r.domain_guid], destinations[r.guid], metadata[r.guid], ctx.urls) for r in rows]


def _included(ctx: RequestContext, rows: list[Route], includes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "domain" in includes:
        domains = list(domains_by_guid(ctx.db, {r.domain_guid for r in rows}).values())
        meta = load_metadata(ctx.db, "domain", [d.guid for d in domains])
        out["domains"] = [present_domain(d, meta[d.guid], ctx.urls) for d in domains]
    if "space" in includes or "space.organization" in includes:
        spaces = spaces_by_guid(ctx.db, {r.space_guid for r in rows})
        if "space" in includes:
            meta = load_metadata(ctx.db, "space", [s.guid for s in spaces])
            out["spaces"] = [present_space(s, meta[s.guid], ctx.urls) for s in spaces]
        if "space.organization" in includes:
            orgs = organizations_by_guid(ctx.db, {s.organization_guid for s in spaces})
            meta = load_metadata(ctx.db, "organization", [o.guid for o in orgs])
            out["organizations"] = [present_organization(o, meta[o.guid], ctx.urls) for o in orgs]
    return out


def _page(ctx: RequestContext, params: ListParams, path: str, app_guid: str | None = None) -> Response:
    page = routes_page(ctx.db, ctx.perms, params, app_guid=app_guid)
    included = _included(ctx, page.rows, params.include) if params.include else None
    return cf_json(present_page(_present_all(ctx, page.rows), page.total, params, path, included))


def list_routes(ctx: RequestContext) -> Response:
    return _page(ctx, parse_list_or_raise(ctx, LIST), ctx.urls.v3("routes"))


def list_app_routes(ctx: RequestContext) -> Response:
    app, _ = readable_app(ctx, ctx.param("guid"))
    reject_nested_filters(ctx)
    return _page(ctx, parse_list_or_raise(ctx, APP_LIST), ctx.urls.v3("apps", app.guid, "routes"), app.guid)


def readable_route(ctx: RequestContext, guid: str) -> tuple[Route, SpaceRef]:
    return readable_in_space(ctx, Route, guid, NOT_FOUND, ctx.perms.can_read_routes_in_space)


def _writable_route(ctx: RequestContext) -> tuple[Route, SpaceRef]:
    route, ref = readable_route(ctx, ctx.param("guid"))
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    return route, ref


def show_route(ctx: RequestContext) -> Response:
    route, _ = readable_route(ctx, ctx.param("guid"))
    return cf_json(_present_all(ctx, [route])[0])


def create(ctx: RequestContext) -> Response:
    change = parse_route_create(ctx.json())
    space = by_guid(ctx.db, Space, change.space_guid or "")
    ref = space_ref(ctx.db, space.guid) if space else None
    if space is None or ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("UnprocessableEntity", "Invalid space. Ensure that the space exists and you have access to it.")
    domain = by_guid(ctx.db, Domain, change.domain_guid or "")
    if domain is None or (
        domain.organization_guid is not None and not ctx.perms.can_read_org(domain.organization_guid)
    ):
        raise CFError("UnprocessableEntity", "Invalid domain. Ensure that the domain exists and you have access to it.")
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    require_flag(ctx.db, "route_creation", ctx.user)
    org = by_guid(ctx.db, Organization, ref.org_guid)
    assert org is not None
    route = create_route(
        ctx.db, ctx.deps.settings, change, space=space, org=org, domain=domain, actor=actor_of(ctx.user)
    )
    ctx.db.commit()
    return cf_json(_present_all(ctx, [route])[0], status=201)


def update(ctx: RequestContext) -> Response:
    route, _ = _writable_route(ctx)
    change = parse_route_update(ctx.json())
    return cf_json(_present_all(ctx, [update_route(ctx.db, ctx.deps.settings, route, change)])[0])


def delete_one(ctx: RequestContext) -> Response:
    route, _ = _writable_route(ctx)
    return accepted_job(ctx, request_route_delete(ctx.db, ctx.deps.executor, route, ctx.user.user_guid))


def _destinations(ctx: RequestContext, route: Route) -> Response:
    return cf_json(present_destinations(route, destinations_of(ctx.db, [route.guid])[route.guid], ctx.urls))


def list_destinations(ctx: RequestContext) -> Response:
    route, _ = readable_route(ctx, ctx.param("guid"))
    return _destinations(ctx, route)


def add(ctx: RequestContext) -> Response:
    route, ref = _writable_route(ctx)
    specs = parse_destinations(ctx.json(), replace=False)
    add_destinations(ctx.db, route, specs, actor_of(ctx.user), ref.org_guid)
    ctx.deps.services.changes.notify()  # the router takes the new destinations at once
    return _destinations(ctx, route)


def replace(ctx: RequestContext) -> Response:
    route, ref = _writable_route(ctx)
    specs = parse_destinations(ctx.json(), replace=True)
    replace_destinations(ctx.db, route, specs, actor_of(ctx.user), ref.org_guid)
    ctx.deps.services.changes.notify()
    return _destinations(ctx, route)


def remove(ctx: RequestContext) -> Response:
    route, ref = _writable_route(ctx)
    destination = by_guid(ctx.db, RouteDestination, ctx.param("destination_guid"))
    if destination is None or destination.route_guid != route.guid:
        raise CFError(
            "UnprocessableEntity",
            "Unable to unmap route from destination. Ensure the route has a destination with this guid.",
        )
    remove_destination(ctx.db, route, destination, actor_of(ctx.user), ref.org_guid)
    ctx.deps.services.changes.notify()
    return no_content()


def delete_space_routes(ctx: RequestContext) -> Response:
    space = by_guid(ctx.db, Space, ctx.param("guid"))
    ref = space_ref(ctx.db, space.guid) if space else None
    if space is None or ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("ResourceNotFound", "Space not found")
    if ctx.query.get("unmapped") != "true":
        raise CFError(
            "UnprocessableEntity",
            "Mass delete not supported for routes. Use 'unmapped' parameter to delete all unmapped routes in space.",
        )
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return accepted_job(ctx, request_unmapped_routes_delete(ctx.db, ctx.deps.executor, space, ctx.user.user_guid))


def routes() -> list[BaseRoute]:
    return [
        get("/v3/routes", list_routes, query=LIST),
        post("/v3/routes", create, body=ROUTE_CREATE_FIELDS),
        get("/v3/routes/{guid}", show_route),
        patch("/v3/routes/{guid}", update, body=ROUTE_UPDATE_FIELDS),
        delete("/v3/routes/{guid}", delete_one),
        get("/v3/routes/{guid}/destinations", list_destinations),
        post("/v3/routes/{guid}/destinations", add, body=DESTINATIONS_FIELDS),
        patch("/v3/routes/{guid}/destinations", replace, body=DESTINATIONS_FIELDS),
        delete("/v3/routes/{guid}/destinations/{destination_guid}", remove),
        get("/v3/apps/{guid}/routes", list_app_routes, query=APP_LIST),
        delete("/v3/spaces/{guid}/routes", delete_space_routes),
    ]
