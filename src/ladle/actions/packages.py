"""Create, update and delete packages (uploads and copies have their own modules)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, record_app_event
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.config import Settings
from ladle.db.models import App, Job, Package
from ladle.db.states.package import PackageState
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.package_create import PackageCreate
from ladle.messages.package_update import PackageUpdate

__all__ = ["create_package", "request_package_delete", "run_package_delete", "update_package"]


def create_package(
    session: Session, settings: Settings, app: App, msg: PackageCreate, actor: Actor | None = None
) -> Package:
    if msg.type == "bits" and app.lifecycle_type == "docker":
        raise CFError("UnprocessableEntity", "Cannot create bits package for a Docker app.")
    if msg.type == "docker" and app.lifecycle_type != "docker":
        raise CFError("UnprocessableEntity", "Cannot create Docker package for a buildpack app.")
    package = Package(
        app_guid=app.guid,
        type=msg.type,
        state=PackageState.READY if msg.type == "docker" else PackageState.AWAITING_UPLOAD,
    )
    if msg.docker is not None:
        package.docker_image = msg.docker.image
        package.docker_username = msg.docker.username
        package.docker_password = msg.docker.password
    session.add(package)
    session.flush()
    apply_metadata(session, settings, "package", package.guid, msg.metadata)
    # Cloud Controller keeps the request without docker credentials.
    request: dict[str, object] = {"type": msg.type}
    if msg.docker is not None:
        request["data"] = {"image": msg.docker.image}
    record_app_event(
        session, "audit.app.package.create", actor, app, {"package_guid": package.guid, "request": request}
    )
    session.commit()
    return package


def update_package(session: Session, settings: Settings, package: Package, msg: PackageUpdate) -> Package:
    if package.type == "docker" and msg.changes_credentials:
        if msg.username is not None:
            package.docker_username = msg.username
        if msg.password is not None:
            package.docker_password = msg.password
    apply_metadata(session, settings, "package", package.guid, msg.metadata)
    session.commit()
    return package


def request_package_delete(session: Session, executor: Executor, package: Package, user_guid: str) -> Job:
    job = add_job(session, "package.delete", resource_type="package", resource_guid=package.guid, user_guid=user_guid)
    return start_job(session, executor, job)


def run_package_delete(ctx: JobContext) -> None:
    guid = ctx.resource_guid or ""
    with ctx.db.session() as s:
        package = s.scalars(select(Package).where(Package.guid == guid)).first()
        if package is not None:
            delete_metadata(s, "package", [package.guid])
            s.delete(package)
            s.commit()
    # The row goes first: a crash in between leaves an orphan blob for the sweep, never a
    # package pointing at a deleted blob.
    ctx.blobstores.packages.delete(guid)
