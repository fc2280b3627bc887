"""Queries over domains, routes and route destinations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import Domain, Organization, Route, RouteDestination, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = [
    "default_domain",
    "destinations_of",
    "domain_named",
    "domains_by_guid",
    "domains_page",
    "org_of_space",
    "route_with_identity",
    "routes_page",
]


def default_domain(session: Session, org_guid: str | None = None) -> Domain | None:
    """Cloud Controller's default: the oldest shared, external domain, else the org's first private one."""
    shared = session.scalars(
        select(Domain).where(Domain.organization_guid.is_(None), Domain.internal.is_(False)).order_by(Domain.id)
    ).first()
    if shared is not None or org_guid is None:
        return shared
    return session.scalars(select(Domain).where(Domain.organization_guid == org_guid).order_by(Domain.id)).first()


def domain_named(session: Session, name: str) -> Domain | None:
    return session.scalars(select(Domain).where(func.lower(Domain.name) == name.lower())).first()


def domains_by_guid(session: Session, guids: Iterable[str]) -> dict[str, Domain]:
    rows = session.scalars(select(Domain).where(Domain.guid.in_(set(guids))))
    return {d.guid: d for d in rows}


def domains_page(session: Session, perms: Permissions, params: ListParams, org_guid: str | None = None) -> Page[Domain]:
    stmt = select(Domain)
    visible = Domain.organization_guid.is_(None)
    if not perms.reads_globally:
        stmt = stmt.where(or_(visible, Domain.organization_guid.in_(perms.readable_org_guids())))
    if org_guid is not None:
        stmt = stmt.where(or_(visible, Domain.organization_guid == org_guid))
    stmt = filter_common(stmt, Domain, params, "domain")
    if "names" in params.arrays:
        stmt = stmt.where(func.lower(Domain.name).in_([n.lower() for n in params.arrays["names"]]))
    if "organization_guids" in params.arrays:
        stmt = stmt.where(Domain.organization_guid.in_(params.arrays["organization_guids"]))
    return paginate(session, stmt, Domain, params)


def routes_page(
    session: Session, perms: Permissions, params: ListParams, *, app_guid: str | None = None
) -> Page[Route]:
    stmt = select(Route)
    if not perms.reads_globally:
        stmt = stmt.where(Route.space_guid.in_(perms.route_readable_space_guids()))
    if app_guid is not None:
        stmt = stmt.where(
            Route.guid.in_(select(RouteDestination.route_guid).where(RouteDestination.app_guid == app_guid))
        )
    stmt = filter_common(stmt, Route, params, "route")
    arrays = params.arrays
    if "hosts" in arrays:
        stmt = stmt.where(func.lower(Route.host).in_([h.lower() for h in arrays["hosts"]]))
    if "paths" in arrays:
        stmt = stmt.where(Route.path.in_(arrays["paths"]))
    if "ports" in arrays:
        ports = [int(p) for p in arrays["ports"] if p.isdigit()]
        stmt = stmt.where(Route.port.in_(ports))
    if "domain_guids" in arrays:
        stmt = stmt.where(Route.domain_guid.in_(arrays["domain_guids"]))
    if "space_guids" in arrays:
        stmt = stmt.where(Route.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        in_orgs = select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"]))
        stmt = stmt.where(Route.space_guid.in_(in_orgs))
    if "app_guids" in arrays:
        mapped = select(RouteDestination.route_guid).where(RouteDestination.app_guid.in_(arrays["app_guids"]))
        stmt = stmt.where(Route.guid.in_(mapped))
    if "service_instance_guids" in arrays:
        stmt = stmt.where(Route.id.is_(None))  # route services come with brokers, which Ladle does not have
    return paginate(session, stmt, Route, params)


def destinations_of(session: Session, route_guids: Iterable[str]) -> dict[str, list[RouteDestination]]:
    """Each route's destinations, sorted by guid as Cloud Controller shows them."""
    out: dict[str, list[RouteDestination]] = defaultdict(list)
    rows = session.scalars(
        select(RouteDestination)
        .where(RouteDestination.route_guid.in_(set(route_guids)))
        .order_by(RouteDestination.guid)
    )
    for row in rows:
        out[row.route_guid].append(row)
    return out


def route_with_identity(session: Session, domain_guid: str, host: str, path: str, port: int | None) -> Route | None:
    return session.scalars(
        select(Route).where(
            Route.domain_guid == domain_guid,
            func.lower(Route.host) == host.lower(),
            Route.path == path,
            func.coalesce(Route.port, 0) == (port or 0),
        )
    ).first()


def org_of_space(session: Session, space_guid: str) -> Organization | None:
    return session.scalars(
        select(Organization).join(Space, Space.organization_guid == Organization.guid).where(Space.guid == space_guid)
    ).first()
