"""Creating, changing and deleting routes, and mapping them to apps (their destinations).

Uniqueness is the database's job (an expression index on domain, lower(host), path and port),
so two clients creating the same route at once get one route and one clear error.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, Target, record_event, user_actor
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.actions.quota_checks import check_route_quotas
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import App, Domain, Job, Organization, Route, RouteDestination, Space
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.route import DestinationSpec, RouteChange

__all__ = [
    "RouteTaken",
    "add_destinations",
    "create_route",
    "delete_route",
    "delete_unmapped_routes",
    "remove_destination",
    "replace_destinations",
    "request_route_delete",
    "request_unmapped_routes_delete",
    "route_taken_message",
    "run_route_delete",
    "run_unmapped_routes_delete",
    "update_route",
]


class RouteTaken(Exception):
    """Another route already has this domain, host, path and port."""


def route_taken_message(host: str, path: str, port: int | None, domain: Domain) -> str:
    if port is not None:
        return f"Route already exists with port '{port}' for domain '{domain.name}'."
    if path:
        if host:
            return f"Route already exists with host '{host}' and path '{path}' for domain '{domain.name}'."
        return f"Route already exists with path '{path}' for domain '{domain.name}'."
    if host:
        return f"Route already exists with host '{host}' for domain '{domain.name}'."
    return f"Route already exists for domain '{domain.name}'."


def _check_route_rules(host: str, port: int | None, domain: Domain, org: Organization) -> None:
    if domain.organization_guid is not None and domain.organization_guid != org.guid:
        raise CFError(
            "UnprocessableEntity",
            f"Invalid domain. Domain '{domain.name}' is not available in organization '{org.name}'.",
        )
    if port is not None:
        raise CFError("UnprocessableEntity", "Routes with protocol 'http' do not support ports.")
    if domain.organization_guid is None and not host:
        raise CFError("UnprocessableEntity", "Missing host. Routes in shared domains must have a host defined.")
    if len(f"{host}.{domain.name}") > 253:
        raise CFError("UnprocessableEntity", "Host combined with domain name must be no more than 253 characters.")


def create_route(
    session: Session,
    settings: Settings,
    change: RouteChange,
    *,
    space: Space,
    org: Organization,
    domain: Domain,
    actor: Actor | None,
    manifest_triggered: bool = False,
) -> Route:
    """Add the route in the caller's transaction (flushed); the caller commits."""
    host, path = change.host or "", change.path or ""
    _check_route_rules(host, change.port, domain, org)
    check_route_quotas(session, space, org)
    route = Route(
        host=host,
        path=path,
        port=change.port,
        protocol="http",
        domain_guid=domain.guid,
        space_guid=space.guid,
        options=change.options or {},
    )
    try:
        with session.begin_nested():
            session.add(route)
            session.flush()
    except IntegrityError:
        raise CFError("UnprocessableEntity", route_taken_message(host, path, change.port, domain)) from None
    apply_metadata(session, settings, "route", route.guid, change.metadata)
    data: dict[str, object] = {"request": {"host": host, "path": path, "domain_guid": domain.guid}}
    if manifest_triggered:
        data["manifest_triggered"] = True
    record_event(session, "audit.route.create", actor, _target(route, space, org), data)
    return route


def update_route(session: Session, settings: Settings, route: Route, change: RouteChange) -> Route:
    if change.options is not None:
        route.options = {**(route.options or {}), **change.options}
    apply_metadata(session, settings, "route", route.guid, change.metadata)
    route.updated_at = utcnow()
    session.commit()
    return route


def _target(route: Route, space: Space, org: Organization) -> Target:
    return Target(route.guid, "route", route.host, space.guid, org.guid)


def _apps_for(session: Session, route: Route, specs: Iterable[DestinationSpec]) -> dict[str, App]:
    guids = {spec.app_guid for spec in specs}
    apps = {a.guid: a for a in session.scalars(select(App).where(App.guid.in_(guids)))}
    missing = sorted(guids - set(apps))
    if missing:
        raise CFError("UnprocessableEntity", f'App(s) with guid(s) "{", ".join(missing)}" do not exist.')
    if any(app.space_guid != route.space_guid for app in apps.values()):
        raise CFError(
            "UnprocessableEntity",
            "Routes destinations must be in either the route's space or the route's shared spaces",
        )
    return apps


def _map_event(
    session: Session, kind: str, route: Route, app: App, *, destination: RouteDestination, actor: Actor | None, org: str
) -> None:
    data = {
        "route_guid": route.guid,
        "app_port": destination.port if destination.port is not None else 8080,
        "route_mapping_guid": destination.guid,
        "destination_guid": destination.guid,
        "process_type": destination.process_type,
        "weight": destination.weight,
        "protocol": destination.protocol or "http1",
    }
    record_event(session, kind, actor, Target(app.guid, "app", app.name, app.space_guid, org), data)


def _map(
    session: Session, route: Route, spec: DestinationSpec, app: App, *, actor: Actor | None, org: str
) -> RouteDestination:
    """Add the destination ``spec`` names and record the mapping."""
    destination = RouteDestination(
        route_guid=route.guid,
        app_guid=spec.app_guid,
        process_type=spec.process_type,
        port=spec.port,
        protocol=spec.protocol,
        weight=spec.weight,
    )
    session.add(destination)
    session.flush()
    _map_event(session, "audit.app.map-route", route, app, destination=destination, actor=actor, org=org)
    return destination


def _same_target(a: RouteDestination, spec: DestinationSpec) -> bool:
    return a.app_guid == spec.app_guid and a.process_type == spec.process_type and a.port == spec.port


def add_destinations(
    session: Session,
    route: Route,
    specs: list[DestinationSpec],
    actor: Actor | None,
    org_guid: str,
    *,
    commit: bool = True,
) -> list[RouteDestination]:
    """Map the route to more apps; a destination it already has is kept as it is."""
    apps = _apps_for(session, route, specs)
    existing = list(session.scalars(select(RouteDestination).where(RouteDestination.route_guid == route.guid)))
    for spec in specs:
        if any(_same_target(d, spec) for d in existing):
            continue
        existing.append(_map(session, route, spec, apps[spec.app_guid], actor=actor, org=org_guid))
    route.updated_at = utcnow()
    session.commit()
    return existing


def replace_destinations(
    session: Session, route: Route, specs: list[DestinationSpec], actor: Actor | None, org_guid: str
) -> None:
    """Make the route's destinations exactly ``specs``. Commits."""
    apps = _apps_for(session, route, specs)
    existing = list(session.scalars(select(RouteDestination).where(RouteDestination.route_guid == route.guid)))
    for destination in existing:
        if not any(_same_target(destination, spec) for spec in specs):
            app = session.scalars(select(App).where(App.guid == destination.app_guid)).first()
            if app is not None:
                _map_event(
                    session, "audit.app.unmap-route", route, app, destination=destination, actor=actor, org=org_guid
                )
            session.delete(destination)
    for spec in specs:
        kept = next((d for d in existing if _same_target(d, spec)), None)
        if kept is not None:
            kept.weight, kept.protocol = spec.weight, spec.protocol
            continue
        _map(session, route, spec, apps[spec.app_guid], actor=actor, org=org_guid)
    route.updated_at = utcnow()
    session.commit()


def remove_destination(
    session: Session, route: Route, destination: RouteDestination, actor: Actor | None, org_guid: str
) -> None:
    app = session.scalars(select(App).where(App.guid == destination.app_guid)).first()
    if app is not None:
        _map_event(session, "audit.app.unmap-route", route, app, destination=destination, actor=actor, org=org_guid)
    session.delete(destination)
    route.updated_at = utcnow()
    session.commit()


def delete_route(session: Session, route_guid: str) -> None:
    """Remove a route, its destinations and its metadata, in the caller's transaction."""
    session.execute(delete(RouteDestination).where(RouteDestination.route_guid == route_guid))
    delete_metadata(session, "route", [route_guid])
    session.execute(delete(Route).where(Route.guid == route_guid))


def delete_unmapped_routes(session: Session, space_guid: str) -> int:
    """Delete every route of the space that no app is mapped to; returns how many went."""
    mapped = select(RouteDestination.route_guid)
    guids = list(session.scalars(select(Route.guid).where(Route.space_guid == space_guid, Route.guid.not_in(mapped))))
    for guid in guids:
        delete_route(session, guid)
    return len(guids)


def run_route_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        delete_route(s, ctx.resource_guid or "")
        s.commit()


def run_unmapped_routes_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        delete_unmapped_routes(s, ctx.resource_guid or "")
        s.commit()


def request_route_delete(session: Session, executor: Executor, route: Route, user_guid: str) -> Job:
    """Start the job that deletes a route (Cloud Controller answers 202 and a job)."""
    space = session.scalars(select(Space).where(Space.guid == route.space_guid)).one()
    org = session.scalars(select(Organization).where(Organization.guid == space.organization_guid)).one()
    data = {"request": {"recursive": True}}
    record_event(
        session, "audit.route.delete-request", user_actor(session, user_guid), _target(route, space, org), data
    )
    job = add_job(session, "route.delete", resource_type="route", resource_guid=route.guid, user_guid=user_guid)
    return start_job(session, executor, job)


def request_unmapped_routes_delete(session: Session, executor: Executor, space: Space, user_guid: str) -> Job:
    """Start the job that deletes every route of ``space`` no app is mapped to."""
    job = add_job(
        session, "space.delete_unmapped_routes", resource_type="space", resource_guid=space.guid, user_guid=user_guid
    )
    return start_job(session, executor, job)
