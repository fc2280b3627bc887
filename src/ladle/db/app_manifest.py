"""What rendering an app as a manifest needs, loaded in a few queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ladle.db.metadata import Metadata, load_metadata
from ladle.db.models import App, Domain, Package, Process, Route, RouteDestination, ServiceBinding, ServiceInstance

__all__ = ["ManifestParts", "app_in_space", "manifest_parts"]


@dataclass(frozen=True)
class ManifestParts:
    processes: list[Process]
    # (route, its domain, the destination's protocol) for every route the app is mapped to.
    routes: list[tuple[Route, Domain, str | None]]
    metadata: Metadata
    docker_image: str | None
    docker_username: str | None
    # Names of the service instances the app is bound to.
    service_names: list[str] = field(default_factory=list)


def app_in_space(session: Session, space_guid: str, name: str) -> App | None:
    return session.scalars(
        select(App).where(App.space_guid == space_guid, func.lower(App.name) == name.lower())
    ).first()


def manifest_parts(session: Session, app: App) -> ManifestParts:
    processes = list(session.scalars(select(Process).where(Process.app_guid == app.guid)))
    routes = [
        (route, domain, protocol)
        for route, domain, protocol in session.execute(
            select(Route, Domain, RouteDestination.protocol)
            .join(RouteDestination, RouteDestination.route_guid == Route.guid)
            .join(Domain, Domain.guid == Route.domain_guid)
            .where(RouteDestination.app_guid == app.guid)
        ).all()
    ]
    image = username = None
    if app.lifecycle_type == "docker":
        package = session.scalars(
            select(Package).where(Package.app_guid == app.guid, Package.type == "docker").order_by(Package.id.desc())
        ).first()
        if package is not None:
            image, username = package.docker_image, package.docker_username
    metadata = load_metadata(session, "app", [app.guid])[app.guid]
    service_names = list(
        session.scalars(
            select(ServiceInstance.name)
            .join(ServiceBinding, ServiceBinding.service_instance_guid == ServiceInstance.guid)
            .where(ServiceBinding.app_guid == app.guid)
        )
    )
    return ManifestParts(processes, routes, metadata, image, username, service_names)
