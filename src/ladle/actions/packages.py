"""Create, copy and update packages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata
from ladle.config import Settings
from ladle.db.models import App, Package
from ladle.db.states.package import PackageState
from ladle.errors import CFError
from ladle.jobs.executor import Executor
from ladle.messages.package_create import PackageCreate
from ladle.messages.package_update import PackageUpdate

__all__ = ["copy_package", "create_package", "update_package"]


def create_package(session: Session, settings: Settings, app: App, msg: PackageCreate) -> Package:
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
    session.commit()
    return package


def copy_package(
    session: Session, executor: Executor, source: Package, dest_app: App, user_guid: str
) -> tuple[Package, str | None]:
    """The new package, and the guid of the job copying its bits (None for docker packages)."""
    if source.app_guid == dest_app.guid:
        raise CFError("UnprocessableEntity", "Source and destination app cannot be the same")
    package = Package(
        app_guid=dest_app.guid,
        type=source.type,
        state=PackageState.READY if source.type == "docker" else PackageState.COPYING,
        docker_image=source.docker_image,
    )
    session.add(package)
    session.flush()
    if source.type == "docker":
        session.commit()
        return package, None
    job = add_job(
        session,
        "package.copy",
        resource_type="package",
        resource_guid=package.guid,
        payload={"source_guid": source.guid},
        user_guid=user_guid,
    )
    start_job(session, executor, job)
    return package, job.guid


def update_package(session: Session, settings: Settings, package: Package, msg: PackageUpdate) -> Package:
    if package.type == "docker" and msg.changes_credentials:
        if msg.username is not None:
            package.docker_username = msg.username
        if msg.password is not None:
            package.docker_password = msg.password
    apply_metadata(session, settings, "package", package.guid, msg.metadata)
    session.commit()
    return package
