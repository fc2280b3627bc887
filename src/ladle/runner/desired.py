"""Reading the desired state a runner acts on, in one pass over the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.models import App, Deployment, Domain, Droplet, Organization, Process, Route, RouteDestination, Space
from ladle.db.placement import AppPlacement
from ladle.db.services import env_group_vars, vcap_services_by_app
from ladle.runner.images import DockerSource, docker_source
from ladle.runner.instance import HealthCheck

__all__ = ["DesiredProcess", "Rollout", "desired_processes", "start_command"]


@dataclass(frozen=True)
class Rollout:
    """An active rolling deployment of a process onto ``version``."""

    deployment_guid: str
    version: str
    max_in_flight: int
    canceling: bool


@dataclass
class DesiredProcess:
    guid: str
    type: str
    version: str
    instances: int
    memory_mb: int
    disk_mb: int
    log_rate_limit: int
    health: HealthCheck
    command: str | None
    droplet_guid: str
    lifecycle: str
    placement: AppPlacement
    app_env: dict[str, Any]
    uris: list[str] = field(default_factory=list)
    # The running variable group and VCAP_SERVICES as they are now: an instance started from
    # this takes them (a new binding reaches an app when it restarts, as on Cloud Foundry).
    group_env: dict[str, Any] = field(default_factory=dict)
    vcap_services: dict[str, Any] = field(default_factory=dict)
    rollout: Rollout | None = None
    # Docker droplets: the image (with the package's credentials) and the staged metadata.
    docker: DockerSource | None = None
    execution_metadata: str = ""


def start_command(process_command: str | None, process_type: str, droplet: Droplet | None) -> str | None:
    """The process's own command, else the droplet's for its type, else staging's start command."""
    if process_command:
        return process_command
    if droplet is None:
        return None
    detected = (droplet.process_types or {}).get(process_type)
    if detected:
        return str(detected)
    return None


def staging_info_command(droplet_root: Any) -> str | None:
    """``start_command`` from a droplet's ``staging_info.yml``, the launcher's last resort."""
    path = droplet_root / "staging_info.yml"
    # A droplet is user content: never follow a link it holds on the host.
    if path.is_symlink() or not path.is_file():
        return None
    try:
        info = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    command = info.get("start_command") if isinstance(info, dict) else None
    return command if isinstance(command, str) and command else None


def desired_processes(session: Session) -> list[DesiredProcess]:
    rows = session.execute(
        select(Process, App, Space, Organization)
        .join(App, App.guid == Process.app_guid)
        .join(Space, Space.guid == App.space_guid)
        .join(Organization, Organization.guid == Space.organization_guid)
        .where(Process.state == "STARTED", App.state == "STARTED", App.droplet_guid.is_not(None))
        .order_by(Process.id)
    ).all()
    if not rows:
        return []
    app_guids = {app.guid for _, app, _, _ in rows}
    droplets = {
        d.guid: d
        for d in session.scalars(select(Droplet).where(Droplet.guid.in_({a.droplet_guid for _, a, _, _ in rows})))
    }
    uris: dict[tuple[str, str], list[str]] = {}
    for route, domain, destination in session.execute(
        select(Route, Domain, RouteDestination)
        .join(RouteDestination, RouteDestination.route_guid == Route.guid)
        .join(Domain, Domain.guid == Route.domain_guid)
        .where(RouteDestination.app_guid.in_(app_guids))
    ).all():
        host = f"{route.host}.{domain.name}" if route.host else domain.name
        uris.setdefault((destination.app_guid, destination.process_type), []).append(f"{host}{route.path}")
    rollouts = {
        d.process_guid: Rollout(d.guid, d.process_version or "", d.max_in_flight, d.status_reason == "CANCELING")
        for d in session.scalars(
            select(Deployment).where(Deployment.app_guid.in_(app_guids), Deployment.status_value == "ACTIVE")
        )
        if d.process_guid
    }
    services = vcap_services_by_app(session, sorted(app_guids))
    running_group = env_group_vars(session, "running")
    out = []
    for process, app, space, org in rows:
        droplet = droplets.get(app.droplet_guid or "")
        if droplet is None or droplet.state != "STAGED":
            continue
        out.append(
            DesiredProcess(
                guid=process.guid,
                type=process.type,
                version=process.version,
                instances=process.instances,
                memory_mb=process.memory_in_mb,
                disk_mb=process.disk_in_mb,
                log_rate_limit=process.log_rate_limit,
                health=HealthCheck(
                    type=process.health_check_type,
                    endpoint=process.health_check_endpoint,
                    start_timeout=process.health_check_timeout,
                    invocation_timeout=process.health_check_invocation_timeout,
                    interval=process.health_check_interval,
                ),
                command=start_command(process.command, process.type, droplet),
                droplet_guid=droplet.guid,
                lifecycle=droplet.lifecycle_type,
                placement=AppPlacement(app.guid, app.name, space.guid, space.name, org.guid, org.name),
                app_env=dict(app.environment_variables or {}),
                uris=sorted(uris.get((app.guid, process.type), [])),
                rollout=rollouts.get(process.guid),
                group_env=running_group,
                vcap_services=services.get(app.guid, {}),
                docker=docker_source(droplet),
                execution_metadata=droplet.execution_metadata or "",
            )
        )
    return out
