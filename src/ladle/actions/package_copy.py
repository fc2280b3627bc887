"""Copying a package to another app: the new row (READY at once for docker, else COPYING) and the
job that copies its blob inside the store, then moves it to READY."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.bits_copy import copy_bits, fail_copy_state
from ladle.actions.jobs import add_job, start_job
from ladle.db.lookup import by_guid
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


def run_package_copy(ctx: JobContext) -> None:
    source_guid = ctx.payload["source_guid"]
    with ctx.db.session() as s:
        source = by_guid(s, Package, source_guid)
        if source is None:
            raise CFError("UnprocessableEntity", "source package does not exist")
        sha1, sha256, size = source.sha1, source.sha256, source.size
    copy_bits(
        ctx,
        ctx.blobstores.packages,
        package_states.MACHINE,
        source_guid,
        copying=PackageState.COPYING,
        done=PackageState.READY,
        sha1=sha1,
        sha256=sha256,
        size=size,
    )


def fail_package_copy(ctx: JobContext, reason: str) -> None:
    fail_copy_state(
        ctx,
        ctx.blobstores.packages,
        package_states.MACHINE,
        copying=PackageState.COPYING,
        failed=PackageState.FAILED,
        error_field="error",
        reason=reason,
    )
