"""``/v3/droplets``, the app and package droplet lists, and the seed's staging endpoint."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.build_create import create_build
from ladle.api.builds import stageable_package
from ladle.api.guards import readable_app, require
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.responses import blob_download
from ladle.api.routing import RequestContext, cf_json, get, post
from ladle.auth.permissions import SpaceRef
from ladle.db.builds import droplets_page
from ladle.db.lookup import by_guid, space_ref_of_app
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Buildpack, Droplet, Package
from ladle.db.placement import placement_of
from ladle.errors import CFError
from ladle.messages.build_create import BuildCreate
from ladle.messages.legacy_stage import parse_legacy_stage
from ladle.messages.lifecycle import LifecycleRequest
from ladle.messages.lists import ListSpec
from ladle.presenters.droplet import present_droplet
from ladle.presenters.pagination import present_page
from ladle.presenters.redaction import Redaction
from ladle.staging.environment import staging_environment

__all__ = ["readable_droplet", "routes"]

LIST_KEYS = ("app_guid", "app_guids", "current", "organization_guids", "package_guid", "space_guids", "states")
LIST = ListSpec(keys=LIST_KEYS, array_keys=frozenset({"app_guids", "organization_guids", "space_guids", "states"}))


def readable_droplet(ctx: RequestContext, guid: str) -> tuple[Droplet, SpaceRef]:
    droplet = by_guid(ctx.db, Droplet, guid)
    app = by_guid(ctx.db, App, droplet.app_guid) if droplet else None
    if droplet is None or app is None:
        raise CFError("ResourceNotFound", "Droplet not found")
    ref = space_ref_of_app(ctx.db, app)
    if not (ctx.perms.can_read_from_space(ref) or ctx.perms.is_build_state_updater):
        raise CFError("ResourceNotFound", "Droplet not found")
    return droplet, ref


def present(ctx: RequestContext, droplet: Droplet, redaction: Redaction = Redaction.NONE) -> dict[str, Any]:
    metadata = load_metadata(ctx.db, "droplet", [droplet.guid])[droplet.guid]
    return present_droplet(droplet, metadata, ctx.urls, redaction)


def show(ctx: RequestContext) -> Response:
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    redaction = Redaction.NONE if ctx.perms.can_read_secrets_in_space(ref) else Redaction.SINGLE
    return cf_json(present(ctx, droplet, redaction))


def _list(ctx: RequestContext, base_url: str, **scope: str) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    current = params.scalars.get("current")
    if "app_guid" in scope:
        if current is not None and current != "true":
            raise CFError("BadQueryParameter", "Current only accepts the value 'true'")
    elif current is not None:
        raise CFError("BadQueryParameter", "Unknown query parameter(s): 'current'")
    page = droplets_page(
        ctx.db,
        ctx.perms,
        params,
        app_guid=scope.get("app_guid"),
        package_guid=scope.get("package_guid"),
        current_of=scope.get("app_guid") if current == "true" else None,
    )
    metadata = load_metadata(ctx.db, "droplet", [d.guid for d in page.rows])
    # Lists always hide secrets, even from admins.
    resources = [present_droplet(d, metadata[d.guid], ctx.urls, Redaction.LIST) for d in page.rows]
    return cf_json(present_page(resources, page.total, params, base_url))


def list_droplets(ctx: RequestContext) -> Response:
    return _list(ctx, ctx.urls.v3("droplets"))


def list_app_droplets(ctx: RequestContext) -> Response:
    reject_nested_filters(ctx)
    app, _ = readable_app(ctx, ctx.param("guid"))
    return _list(ctx, ctx.urls.v3("apps", app.guid, "droplets"), app_guid=app.guid)


def _readable_package(ctx: RequestContext, guid: str) -> Package:
    package = by_guid(ctx.db, Package, guid)
    app = by_guid(ctx.db, App, package.app_guid) if package else None
    if package is None or app is None or not ctx.perms.can_read_from_space(space_ref_of_app(ctx.db, app)):
        raise CFError("ResourceNotFound", "Package not found")
    return package


def list_package_droplets(ctx: RequestContext) -> Response:
    package = _readable_package(ctx, ctx.param("guid"))
    return _list(ctx, ctx.urls.v3("packages", package.guid, "droplets"), package_guid=package.guid)


def stage_package(ctx: RequestContext) -> Response:
    """The seeds' staging call: a build under the hood, answered with its droplet and the
    staging fields those documents showed."""
    legacy = parse_legacy_stage(ctx.json())
    package, app, _ = stageable_package(ctx, ctx.param("guid"))
    buildpacks = legacy.buildpack_urls_or_names
    if legacy.buildpack_guid is not None:
        admin = by_guid(ctx.db, Buildpack, legacy.buildpack_guid)
        if admin is None:
            raise CFError("UnprocessableEntity", "Buildpack guid must be the guid of an existing admin buildpack")
        buildpacks = [admin.name]
    data: dict[str, Any] = {}
    if buildpacks is not None:
        data["buildpacks"] = buildpacks
    if legacy.stack is not None:
        data["stack"] = legacy.stack
    lifecycle = None
    if data or package.type != "docker":
        lifecycle = LifecycleRequest(
            "docker" if package.type == "docker" else "buildpack", {} if package.type == "docker" else data
        )
    msg = BuildCreate(
        package_guid=package.guid,
        lifecycle=lifecycle,
        staging_memory_in_mb=legacy.memory_mb,
        staging_disk_in_mb=legacy.disk_mb,
        staging_log_rate_limit=None,
        environment_variables=legacy.environment_variables,
        metadata=None,
    )
    build, droplet = create_build(
        ctx.db, ctx.deps.settings, ctx.deps.executor, app=app, package=package, msg=msg, identity=ctx.user
    )
    body = present(ctx, droplet)
    body["environment_variables"] = staging_environment(
        placement_of(ctx.db, app),
        cf_api=ctx.urls.base,
        app_env=dict(app.environment_variables or {}),
        build_env=legacy.environment_variables,
        stack=build.stack,
        memory_mb=build.staging_memory_in_mb,
        disk_mb=build.staging_disk_in_mb,
        build_guid=build.guid,
    )
    # The seed shows the limit as megabytes; the buildpack's process is given "<n>m".
    body["environment_variables"]["MEMORY_LIMIT"] = build.staging_memory_in_mb
    body["staging_memory_in_mb"] = build.staging_memory_in_mb
    body["staging_disk_in_mb"] = build.staging_disk_in_mb
    return cf_json(body, status=201)


def download(ctx: RequestContext) -> Response:
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    require(ctx.perms.can_download_droplet(ref))
    if droplet.lifecycle_type == "docker":
        raise CFError("UnprocessableEntity", "Cannot download droplets with 'docker' lifecycle.")
    if droplet.state != "STAGED":
        raise CFError("UnprocessableEntity", "Only staged droplets can be downloaded.")
    if droplet.sha1 is None:
        raise CFError("ResourceNotFound", "Blobstore key not present on droplet. This may be due to a failed build.")
    return blob_download(
        ctx.deps.blobstores.droplets, droplet.guid, media_type="application/gzip", filename=f"{droplet.guid}.tgz"
    )


def routes() -> list[BaseRoute]:
    return [
        get("/v3/droplets/{guid}/download", download),
        get("/v3/droplets", list_droplets),
        get("/v3/droplets/{guid}", show),
        get("/v3/apps/{guid}/droplets", list_app_droplets),
        get("/v3/packages/{guid}/droplets", list_package_droplets),
        post("/v3/packages/{guid}/droplets", stage_package),
    ]
