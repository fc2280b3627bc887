"""The seeds' ``POST /v3/packages/:guid/droplets``: a build under the hood, answered with its
droplet and the staging environment those documents showed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ladle.actions.build_create import create_build
from ladle.auth.identity import Identity
from ladle.config import Settings
from ladle.db.lookup import by_guid
from ladle.db.models import App, Build, Buildpack, Droplet, Package
from ladle.db.placement import placement_of
from ladle.db.services import env_group_vars, vcap_services
from ladle.errors import CFError
from ladle.jobs.executor import Executor
from ladle.messages.legacy_stage import LegacyStage
from ladle.staging.environment import staging_environment

__all__ = ["LegacyStaging", "stage_package"]


@dataclass(frozen=True)
class LegacyStaging:
    build: Build
    droplet: Droplet
    # The variables the staging gets, as Cloud Foundry stores them.
    environment: dict[str, Any]


def stage_package(
    session: Session,
    settings: Settings,
    executor: Executor,
    *,
    app: App,
    package: Package,
    msg: LegacyStage,
    identity: Identity,
) -> LegacyStaging:
    buildpacks = msg.buildpack_urls_or_names
    if msg.buildpack_guid is not None:
        admin = by_guid(session, Buildpack, msg.buildpack_guid)
        if admin is None:
            raise CFError("UnprocessableEntity", "Buildpack guid must be the guid of an existing admin buildpack")
        buildpacks = [admin.name]
    build_msg = msg.build_create(package.guid, package.type, buildpacks)
    build, droplet = create_build(
        session, settings, executor, app=app, package=package, msg=build_msg, identity=identity
    )
    environment = staging_environment(
        placement_of(session, app),
        cf_api=settings.effective_external_url,
        group_env=env_group_vars(session, "staging"),
        app_env=dict(app.environment_variables or {}),
        build_env=msg.environment_variables,
        vcap_services=vcap_services(session, app.guid),
        stack=build.stack,
        memory_mb=build.staging_memory_in_mb,
        disk_mb=build.staging_disk_in_mb,
        build_guid=build.guid,
    )
    return LegacyStaging(build, droplet, environment)
