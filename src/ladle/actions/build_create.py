"""Create a build and start staging it."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.app_create import check_lifecycle_flags, resolve_buildpack_lifecycle
from ladle.actions.audit import actor_of, record_app_event
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata
from ladle.auth.identity import Identity
from ladle.config import Settings
from ladle.db.buildpacks import admin_buildpacks_named, detectable_buildpacks
from ladle.db.models import App, Build, Droplet, Package, Process
from ladle.db.states.build import BuildState
from ladle.db.states.droplet import DropletState
from ladle.db.states.package import PackageState
from ladle.errors import CFError
from ladle.jobs.executor import Executor
from ladle.messages.build_create import BuildCreate

__all__ = ["create_build"]


def _staging_limits(settings: Settings, web: Process | None, msg: BuildCreate) -> tuple[int, int, int]:
    memory = msg.staging_memory_in_mb or (web.memory_in_mb if web else settings.default_app_memory_mb)
    disk = msg.staging_disk_in_mb or (web.disk_in_mb if web else settings.default_app_disk_mb)
    memory = max(memory, settings.staging_min_memory_mb)
    disk = max(disk, settings.staging_min_disk_mb)
    if disk > max(settings.max_app_disk_mb, settings.staging_min_disk_mb):
        raise CFError("UnprocessableEntity", "disk limit exceeded")
    rate = msg.staging_log_rate_limit
    if rate is None:
        rate = web.log_rate_limit if web else settings.default_app_log_rate_limit
    return memory, disk, rate


def _check_local_buildpacks(buildpacks: list[str], identity: Identity) -> None:
    """``file://`` buildpacks read the server's own disk: admins may name them, nobody else.

    Checked here, on every build, because an app's buildpacks may have been set by someone else."""
    if identity.is_admin:
        return
    local = [name for name in buildpacks if urlsplit(name).scheme == "file"]
    if local:
        raise CFError(
            "UnprocessableEntity",
            [
                f'Buildpack "{name}" must be an existing admin buildpack or a valid git URI '
                "(file:// buildpacks are for admins only)"
                for name in local
            ],
        )


def create_build(
    session: Session,
    settings: Settings,
    executor: Executor,
    *,
    app: App,
    package: Package,
    msg: BuildCreate,
    identity: Identity,
) -> tuple[Build, Droplet]:
    if (
        session.scalar(select(Build.id).where(Build.app_guid == app.guid, Build.state == BuildState.STAGING))
        is not None
    ):
        raise CFError("StagingInProgress")
    if package.state != PackageState.READY:
        raise CFError("BadRequest", "Cannot stage package whose state is not ready.")
    requested_type = msg.lifecycle.type if msg.lifecycle else None
    lifecycle_type = requested_type or ("docker" if package.type == "docker" else app.lifecycle_type)
    check_lifecycle_flags(session, lifecycle_type, identity)
    buildpacks: list[str] = []
    stack: str | None = None
    if lifecycle_type != "docker":
        buildpacks, stack = resolve_buildpack_lifecycle(
            session, settings, msg.lifecycle, list(app.buildpacks or []), app.stack
        )
        _check_local_buildpacks(buildpacks, identity)
        disabled = [
            name
            for name in buildpacks
            if any(not bp.enabled for bp in admin_buildpacks_named(session, name, stack)[:1])
        ]
        if disabled:
            names = ", ".join(f"'{n}'" for n in disabled)
            raise CFError(
                "BuildpackInvalid", f"Requested buildpack(s) {names} are disabled and cannot be used for staging"
            )
    web = session.scalars(select(Process).where(Process.app_guid == app.guid, Process.type == "web")).first()
    memory, disk, rate = _staging_limits(settings, web, msg)
    if lifecycle_type != "docker" and not buildpacks and not detectable_buildpacks(session, stack):
        raise CFError("NoBuildpacksFound")
    build = Build(
        app_guid=app.guid,
        package_guid=package.guid,
        state=BuildState.STAGING,
        staging_memory_in_mb=memory,
        staging_disk_in_mb=disk,
        staging_log_rate_limit=rate,
        lifecycle_type=lifecycle_type,
        buildpacks=buildpacks,
        stack=stack,
        created_by_guid=identity.user_guid,
        created_by_name=identity.username,
        created_by_email=identity.email,
        environment_variables=msg.environment_variables,
    )
    session.add(build)
    try:
        session.flush()
    except IntegrityError:
        # Another request (maybe on another API process) started a build of this app since the
        # check above: the database lets only one be STAGING.
        session.rollback()
        raise CFError("StagingInProgress") from None
    droplet = Droplet(
        app_guid=app.guid,
        package_guid=package.guid,
        build_guid=build.guid,
        state=DropletState.STAGING,
        lifecycle_type=lifecycle_type,
        stack=stack,
        buildpack_receipts=[],
        execution_metadata="",
    )
    session.add(droplet)
    apply_metadata(session, settings, "build", build.guid, msg.metadata)
    actor = actor_of(identity)
    record_app_event(
        session, "audit.app.build.create", actor, app, {"build_guid": build.guid, "package_guid": package.guid}
    )
    # Ladle makes the build's droplet with the build, so that is when it records its creation.
    record_app_event(
        session, "audit.app.droplet.create", actor, app, {"droplet_guid": droplet.guid, "package_guid": package.guid}
    )
    job = add_job(session, "build.stage", resource_type="build", resource_guid=build.guid, user_guid=identity.user_guid)
    start_job(session, executor, job)
    return build, droplet
