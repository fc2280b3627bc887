"""``/v3/droplets`` (create, copy, upload, download, update, delete), the app and package droplet
lists, and the seed's staging endpoint."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ladle.actions.droplet_copy import copy_droplet
from ladle.actions.droplet_upload import accept_droplet_upload
from ladle.actions.droplets import create_droplet, request_droplet_delete, update_droplet
from ladle.actions.legacy_stage import stage_package
from ladle.api.builds import stageable_package
from ladle.api.guards import readable_app, readable_of_app, require, require_active_space, writable_app
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.responses import accepted_job, blob_download
from ladle.api.routing import RequestContext, UploadSpec, cf_json, delete, get, patch, post, upload_endpoint
from ladle.api.uploads import UploadForm
from ladle.db.builds import droplets_page
from ladle.db.metadata import load_metadata
from ladle.db.models import Droplet, Package
from ladle.db.permissions import SpaceRef
from ladle.db.states.droplet import DropletState
from ladle.errors import CFError
from ladle.messages.droplet import (
    DROPLET_CREATE_FIELDS,
    DROPLET_UPDATE_FIELDS,
    parse_droplet_copy,
    parse_droplet_create,
    parse_droplet_update,
    parse_droplet_upload,
)
from ladle.messages.legacy_stage import parse_legacy_stage
from ladle.messages.lists import ListSpec
from ladle.presenters.droplet import present_droplet, present_legacy_staging
from ladle.presenters.pagination import present_page
from ladle.presenters.redaction import Redaction

__all__ = ["readable_droplet", "routes"]

LIST_KEYS = ("app_guid", "app_guids", "current", "organization_guids", "package_guid", "space_guids", "states")
LIST = ListSpec(keys=LIST_KEYS, array_keys=frozenset({"app_guids", "organization_guids", "space_guids", "states"}))


def readable_droplet(ctx: RequestContext, guid: str) -> tuple[Droplet, SpaceRef]:
    return readable_of_app(ctx, Droplet, guid, state_updater_reads=True)


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


def list_package_droplets(ctx: RequestContext) -> Response:
    package, _ = readable_of_app(ctx, Package, ctx.param("guid"))
    return _list(ctx, ctx.urls.v3("packages", package.guid, "droplets"), package_guid=package.guid)


def stage(ctx: RequestContext) -> Response:
    """The seeds' staging call (``POST /v3/packages/:guid/droplets``)."""
    msg = parse_legacy_stage(ctx.json())
    package, app, _ = stageable_package(ctx, ctx.param("guid"))
    staging = stage_package(
        ctx.db, ctx.deps.settings, ctx.deps.executor, app=app, package=package, msg=msg, identity=ctx.user
    )
    body = present_legacy_staging(present(ctx, staging.droplet), staging.build, staging.environment)
    return cf_json(body, status=201)


def create(ctx: RequestContext) -> Response:
    source_guid = ctx.query.get("source_guid")
    if source_guid is not None:
        return _copy(ctx, source_guid)
    msg = parse_droplet_create(ctx.json())
    missing = CFError(
        "UnprocessableEntity", f'App with guid "{msg.app_guid}" does not exist, or you do not have access to it.'
    )
    app = writable_app(ctx, msg.app_guid, missing=missing)
    return cf_json(present(ctx, create_droplet(ctx.db, app, msg)), status=201)


def _copy(ctx: RequestContext, source_guid: str) -> Response:
    msg = parse_droplet_copy(ctx.json())
    source, _ = readable_droplet(ctx, source_guid)
    dest = writable_app(ctx, msg.app_guid, missing=CFError("ResourceNotFound", "App not found"))
    droplet, job_guid = copy_droplet(ctx.db, ctx.deps.executor, source, dest, ctx.user.user_guid)
    # Ladle also says where the copy job is, so a client can follow it; CC's clients ignore this.
    headers = {"Location": ctx.urls.v3("jobs", job_guid)} if job_guid else None
    return cf_json(present(ctx, droplet), status=201, headers=headers)


def update(ctx: RequestContext) -> Response:
    body = ctx.json()
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    if "image" in body:
        require(ctx.perms.is_build_state_updater or ctx.perms.is_admin)
    else:
        require(ctx.perms.can_write_to_space(ref))
        require_active_space(ctx, ref)
    msg = parse_droplet_update(body)
    return cf_json(present(ctx, update_droplet(ctx.db, ctx.deps.settings, droplet, msg)))


def remove(ctx: RequestContext) -> Response:
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return accepted_job(ctx, request_droplet_delete(ctx.db, ctx.deps.executor, droplet, ctx.user.user_guid))


def upload(ctx: RequestContext) -> Response:
    form: UploadForm = ctx.extras["form"]
    bits = form.files.get("bits")
    parse_droplet_upload(
        form.fields, set(form.files), filename=bits.filename if bits else None, size=bits.digest.size if bits else 0
    )
    assert bits is not None
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    job = accept_droplet_upload(
        ctx.db,
        ctx.deps.executor,
        ctx.deps.blobstores,
        droplet,
        bits.bits,
        user_guid=ctx.user.user_guid,
    )
    # The job owns the file now; the request must not clean it up.
    form.files.pop("bits", None)
    return accepted_job(ctx, job, present(ctx, droplet))


UPLOAD = UploadSpec(
    file_fields=frozenset({"bits"}),
    max_bytes=lambda s: s.max_droplet_size,
    too_large=lambda s: CFError("DropletUploadTooLarge", s.max_droplet_size),
)


def download(ctx: RequestContext) -> Response:
    droplet, ref = readable_droplet(ctx, ctx.param("guid"))
    require(ctx.perms.can_download_droplet(ref))
    if droplet.lifecycle_type == "docker":
        raise CFError("UnprocessableEntity", "Cannot download droplets with 'docker' lifecycle.")
    if droplet.state != DropletState.STAGED:
        raise CFError("UnprocessableEntity", "Only staged droplets can be downloaded.")
    if droplet.sha1 is None:
        raise CFError("ResourceNotFound", "Blobstore key not present on droplet. This may be due to a failed build.")
    return blob_download(
        ctx.deps.blobstores.droplets, droplet.guid, media_type="application/gzip", filename=f"{droplet.guid}.tgz"
    )


def routes() -> list[BaseRoute]:
    return [
        get("/v3/droplets/{guid}/download", download),
        Route("/v3/droplets/{guid}/upload", upload_endpoint(upload, UPLOAD), methods=["POST"]),
        get("/v3/droplets", list_droplets),
        post("/v3/droplets", create, body=DROPLET_CREATE_FIELDS),
        get("/v3/droplets/{guid}", show),
        patch("/v3/droplets/{guid}", update, body=DROPLET_UPDATE_FIELDS),
        delete("/v3/droplets/{guid}", remove),
        get("/v3/apps/{guid}/droplets", list_app_droplets),
        get("/v3/packages/{guid}/droplets", list_package_droplets),
        post("/v3/packages/{guid}/droplets", stage),
    ]
