"""Deleting apps, spaces and organizations with everything inside them (run by jobs).

Rows go first, in one transaction; the blobs they pointed at are deleted after the commit. A
crash in between leaves orphan blobs, which the sweep removes, never rows without their blobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ladle.actions.audit import organization_target, record_app_event, record_event, space_target, user_actor
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import delete_metadata
from ladle.blobstore import Blobstore, Blobstores
from ladle.db.lookup import by_guid
from ladle.db.models import (
    App,
    Build,
    Deployment,
    Domain,
    Droplet,
    Instance,
    Job,
    LogLine,
    Organization,
    Package,
    Process,
    Role,
    Route,
    RouteDestination,
    ServiceBinding,
    ServiceInstance,
    Space,
    Task,
)
from ladle.db.usage_events import record_processes_stopped
from ladle.jobs.executor import Executor, JobContext

__all__ = [
    "BlobRefs",
    "delete_app_rows",
    "delete_blobs",
    "request_cascade_delete",
    "run_app_delete",
    "run_organization_delete",
    "run_role_delete",
    "run_space_delete",
]

# (bucket name, key) pairs whose blobs are to be deleted once the rows are gone.
BlobRefs = list[tuple[str, str]]
_Owner = TypeVar("_Owner", App, Space, Organization)
_RESOURCE_TYPES: dict[type[App | Space | Organization], str] = {
    App: "app",
    Space: "space",
    Organization: "organization",
}


def request_cascade_delete(
    session: Session, executor: Executor, owner: App | Space | Organization, user_guid: str
) -> Job:
    """Start the job that deletes an app, space or organization with everything inside it."""
    resource_type = _RESOURCE_TYPES[type(owner)]
    actor = user_actor(session, user_guid)
    data = {"request": {"recursive": True}}
    if isinstance(owner, App):
        record_app_event(session, "audit.app.delete-request", actor, owner, data)
    elif isinstance(owner, Space):
        record_event(session, "audit.space.delete-request", actor, space_target(owner), data)
    else:
        record_event(session, "audit.organization.delete-request", actor, organization_target(owner), data)
    job = add_job(
        session, f"{resource_type}.delete", resource_type=resource_type, resource_guid=owner.guid, user_guid=user_guid
    )
    return start_job(session, executor, job)


def delete_app_rows(session: Session, app: App) -> BlobRefs:
    blobs: BlobRefs = []
    # Unmapping the app is what takes it out of the router; its instances go with the processes
    # (the runner stops whatever runs for a process that is gone).
    session.execute(delete(RouteDestination).where(RouteDestination.app_guid == app.guid))
    task_guids = list(session.scalars(select(Task.guid).where(Task.app_guid == app.guid)))
    delete_metadata(session, "task", task_guids)
    session.execute(delete(Task).where(Task.app_guid == app.guid))
    deployment_guids = list(session.scalars(select(Deployment.guid).where(Deployment.app_guid == app.guid)))
    delete_metadata(session, "deployment", deployment_guids)
    session.execute(delete(Deployment).where(Deployment.app_guid == app.guid))
    record_processes_stopped(session, app.guid)
    process_guids = list(session.scalars(select(Process.guid).where(Process.app_guid == app.guid)))
    delete_metadata(session, "process", process_guids)
    session.execute(delete(Instance).where(Instance.process_guid.in_(process_guids)))
    session.execute(delete(Process).where(Process.app_guid == app.guid))
    package_guids = list(session.scalars(select(Package.guid).where(Package.app_guid == app.guid)))
    delete_metadata(session, "package", package_guids)
    session.execute(delete(Package).where(Package.app_guid == app.guid))
    blobs += [("packages", guid) for guid in package_guids]
    droplet_guids = list(session.scalars(select(Droplet.guid).where(Droplet.app_guid == app.guid)))
    delete_metadata(session, "droplet", droplet_guids)
    session.execute(delete(Droplet).where(Droplet.app_guid == app.guid))
    blobs += [("droplets", guid) for guid in droplet_guids]
    build_guids = list(session.scalars(select(Build.guid).where(Build.app_guid == app.guid)))
    delete_metadata(session, "build", build_guids)
    # A staging still running notices its build is gone and stops.
    session.execute(delete(Build).where(Build.app_guid == app.guid))
    session.execute(delete(LogLine).where(LogLine.source_guid == app.guid))
    binding_guids = list(session.scalars(select(ServiceBinding.guid).where(ServiceBinding.app_guid == app.guid)))
    delete_metadata(session, "service_credential_binding", binding_guids)
    session.execute(delete(ServiceBinding).where(ServiceBinding.app_guid == app.guid))
    # Tasks and deployments go with the app (their rows by cascade), and their labels with them.
    for model, resource_type in ((Task, "task"), (Deployment, "deployment")):
        delete_metadata(
            session, resource_type, list(session.scalars(select(model.guid).where(model.app_guid == app.guid)))
        )
        session.execute(delete(model).where(model.app_guid == app.guid))
    blobs.append(("buildpack_cache", f"{app.guid}/"))
    delete_metadata(session, "app", [app.guid])
    session.delete(app)
    return blobs


def delete_space_rows(session: Session, space: Space) -> BlobRefs:
    blobs: BlobRefs = []
    for app in session.scalars(select(App).where(App.space_guid == space.guid)).all():
        blobs += delete_app_rows(session, app)
    route_guids = list(session.scalars(select(Route.guid).where(Route.space_guid == space.guid)))
    delete_metadata(session, "route", route_guids)
    session.execute(delete(RouteDestination).where(RouteDestination.route_guid.in_(route_guids)))
    session.execute(delete(Route).where(Route.space_guid == space.guid))
    session.execute(delete(Role).where(Role.space_guid == space.guid))
    instance_guids = list(session.scalars(select(ServiceInstance.guid).where(ServiceInstance.space_guid == space.guid)))
    delete_metadata(session, "service_instance", instance_guids)
    session.execute(delete(ServiceInstance).where(ServiceInstance.space_guid == space.guid))
    delete_metadata(session, "space", [space.guid])
    session.delete(space)
    return blobs


def delete_organization_rows(session: Session, org: Organization) -> BlobRefs:
    blobs: BlobRefs = []
    for space in session.scalars(select(Space).where(Space.organization_guid == org.guid)).all():
        blobs += delete_space_rows(session, space)
    domain_guids = list(session.scalars(select(Domain.guid).where(Domain.organization_guid == org.guid)))
    delete_metadata(session, "domain", domain_guids)
    session.execute(delete(Domain).where(Domain.organization_guid == org.guid))
    session.execute(delete(Role).where(Role.organization_guid == org.guid))
    delete_metadata(session, "organization", [org.guid])
    session.delete(org)
    return blobs


def delete_blobs(blobstores: Blobstores, blobs: BlobRefs) -> None:
    """Delete the blobs; a key ending in ``/`` stands for every blob under it."""
    for bucket, key in blobs:
        store: Blobstore = getattr(blobstores, bucket)
        if key.endswith("/"):
            store.delete_prefix(key)
        else:
            store.delete(key)


def _run_cascade(ctx: JobContext, model: type[_Owner], delete_rows: Callable[[Session, _Owner], BlobRefs]) -> None:
    with ctx.db.session() as s:
        owner = by_guid(s, model, ctx.resource_guid or "")
        if owner is None:
            return
        blobs = delete_rows(s, owner)
        s.commit()
    delete_blobs(ctx.blobstores, blobs)


def run_app_delete(ctx: JobContext) -> None:
    _run_cascade(ctx, App, delete_app_rows)


def run_space_delete(ctx: JobContext) -> None:
    _run_cascade(ctx, Space, delete_space_rows)


def run_organization_delete(ctx: JobContext) -> None:
    _run_cascade(ctx, Organization, delete_organization_rows)


def run_role_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        role = by_guid(s, Role, ctx.resource_guid or "")
        if role is not None:
            s.delete(role)
            s.commit()
