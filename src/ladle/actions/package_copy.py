"""Copying a package to another app: the new row (READY at once for docker, else COPYING) and the
job that copies its blob inside the store, then moves it to READY."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.bits_copy import BitsCopy, fail_copy, run_copy
from ladle.actions.jobs import add_job, start_job
from ladle.db.models import App, Package
from ladle.db.states import package as package_states
from ladle.db.states.package import PackageState
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext

__all__ = ["copy_package", "fail_package_copy", "run_package_copy"]


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


PACKAGE_COPY = BitsCopy(
    package_states.MACHINE,
    lambda blobstores: blobstores.packages,
    copying=PackageState.COPYING,
    done=PackageState.READY,
    failed=PackageState.FAILED,
    error_field="error",
    source_state=None,
    unusable_source="source package does not exist",
)


def run_package_copy(ctx: JobContext) -> None:
    run_copy(ctx, PACKAGE_COPY)


def fail_package_copy(ctx: JobContext, reason: str) -> None:
    fail_copy(ctx, PACKAGE_COPY, reason)
