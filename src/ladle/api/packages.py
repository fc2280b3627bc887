"""``/v3/packages``, ``/v3/apps/:guid/packages`` and the upload and download of bits."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ladle.actions.audit import actor_of
from ladle.actions.package_copy import copy_package
from ladle.actions.package_upload import accept_upload
from ladle.actions.packages import create_package, request_package_delete, update_package
from ladle.api.guards import readable_app, readable_of_app, require, require_active_space, writable_app
from ladle.api.listing import parse_list_or_raise, reject_nested_filters
from ladle.api.responses import accepted_job, blob_download
from ladle.api.routing import RequestContext, UploadSpec, cf_json, delete, get, patch, post, upload_endpoint
from ladle.api.uploads import UploadForm
from ladle.config import Settings
from ladle.db.feature_flags import require_flag
from ladle.db.lookup import by_guid, space_ref_of_app
from ladle.db.metadata import load_metadata
from ladle.db.models import App, Package
from ladle.db.packages import packages_page
from ladle.db.permissions import SpaceRef
from ladle.db.states.package import PackageState
from ladle.errors import CFError
from ladle.messages.lists import ListSpec
from ladle.messages.package_create import (
    PACKAGE_CREATE_FIELDS,
    PackageCreate,
    parse_legacy_package_create,
    parse_package_copy,
    parse_package_create,
)
from ladle.messages.package_update import PACKAGE_UPDATE_FIELDS, parse_package_update
from ladle.messages.package_upload import parse_package_upload
from ladle.presenters.package import present_package
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(
    keys=("states", "types", "app_guids", "app_guid", "space_guids", "organization_guids"),
    array_keys=frozenset({"states", "types", "app_guids", "space_guids", "organization_guids"}),
)
APP_INVALID = "App is invalid. Ensure it exists and you have access to it."


def _present(ctx: RequestContext, package: Package) -> dict[str, Any]:
    return present_package(package, load_metadata(ctx.db, "package", [package.guid])[package.guid], ctx.urls)


def readable_package(ctx: RequestContext, guid: str) -> tuple[Package, SpaceRef]:
    return readable_of_app(ctx, Package, guid)


def _writable_app_for_create(ctx: RequestContext, app_guid: str | None) -> App:
    return writable_app(ctx, app_guid, missing=CFError("UnprocessableEntity", APP_INVALID))


def _list(ctx: RequestContext, app_guid: str | None, base_url: str) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    page = packages_page(ctx.db, ctx.perms, params, app_guid)
    metadata = load_metadata(ctx.db, "package", [p.guid for p in page.rows])
    resources = [present_package(p, metadata[p.guid], ctx.urls) for p in page.rows]
    return cf_json(present_page(resources, page.total, params, base_url))


def list_packages(ctx: RequestContext) -> Response:
    return _list(ctx, None, ctx.urls.v3("packages"))


def list_app_packages(ctx: RequestContext) -> Response:
    reject_nested_filters(ctx)
    app, _ = readable_app(ctx, ctx.param("guid"))
    return _list(ctx, app.guid, ctx.urls.v3("apps", app.guid, "packages"))


def show_package(ctx: RequestContext) -> Response:
    package, _ = readable_package(ctx, ctx.param("guid"))
    return cf_json(_present(ctx, package))


def _create(ctx: RequestContext, msg: PackageCreate) -> Response:
    app = _writable_app_for_create(ctx, msg.app_guid)
    package = create_package(ctx.db, ctx.deps.settings, app, msg, actor_of(ctx.user))
    return cf_json(_present(ctx, package), status=201)


def create(ctx: RequestContext) -> Response:
    source_guid = ctx.query.get("source_guid")
    if source_guid is not None:
        return _copy(ctx, source_guid)
    return _create(ctx, parse_package_create(ctx.json()))


def create_legacy(ctx: RequestContext) -> Response:
    return _create(ctx, parse_legacy_package_create(ctx.param("guid"), ctx.json()))


def _copy(ctx: RequestContext, source_guid: str) -> Response:
    msg = parse_package_copy(ctx.json())
    dest = _writable_app_for_create(ctx, msg.app_guid)
    source = by_guid(ctx.db, Package, source_guid)
    source_app = by_guid(ctx.db, App, source.app_guid) if source else None
    source_ref = space_ref_of_app(ctx.db, source_app) if source_app else None
    if source is None or source_ref is None or not ctx.perms.can_read_from_space(source_ref):
        raise CFError("UnprocessableEntity", "Source package is invalid. Ensure it exists and you have access to it.")
    require(ctx.perms.can_write_to_space(source_ref))
    require_active_space(ctx, source_ref)
    package, job_guid = copy_package(ctx.db, ctx.deps.executor, source, dest, ctx.user.user_guid)
    # Ladle also says where the copy job is, so a client can follow it; CC's clients ignore this.
    headers = {"Location": ctx.urls.v3("jobs", job_guid)} if job_guid else None
    return cf_json(_present(ctx, package), status=201, headers=headers)


def update(ctx: RequestContext) -> Response:
    msg = parse_package_update(ctx.json())
    package, ref = readable_package(ctx, ctx.param("guid"))
    if package.type != "docker" and msg.changes_credentials:
        raise CFError("UnprocessableEntity", "Cannot update Docker credentials for a buildpack app.")
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return cf_json(_present(ctx, update_package(ctx.db, ctx.deps.settings, package, msg)))


def delete_package(ctx: RequestContext) -> Response:
    package, ref = readable_package(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return accepted_job(ctx, request_package_delete(ctx.db, ctx.deps.executor, package, ctx.user.user_guid))


def upload(ctx: RequestContext) -> Response:
    form: UploadForm = ctx.extras["form"]
    require_flag(ctx.db, "app_bits_upload", ctx.identity)
    msg = parse_package_upload(form.fields, set(form.files))
    package, ref = readable_package(ctx, ctx.param("guid"))
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    if package.type != "bits":
        raise CFError("UnprocessableEntity", "Package type must be bits.")
    uploaded = form.files.get("bits")
    bits = uploaded.bits if uploaded else None
    accept_upload(ctx.db, ctx.deps.executor, ctx.deps.blobstores, package, msg, bits=bits, user_guid=ctx.user.user_guid)
    # The job owns the file now; the request must not clean it up.
    form.files.pop("bits", None)
    return cf_json(_present(ctx, package))


def download(ctx: RequestContext) -> Response:
    package, ref = readable_package(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_secrets_in_space(ref))
    if package.type != "bits":
        raise CFError("UnprocessableEntity", "Package type must be bits.")
    if package.state != PackageState.READY:
        raise CFError("UnprocessableEntity", "Package has no bits to download.")
    return blob_download(
        ctx.deps.blobstores.packages, package.guid, media_type="application/zip", filename=f"{package.guid}.zip"
    )


def _too_large(settings: Settings) -> CFError:
    return CFError("PackageUploadTooLarge", settings.max_upload_size)


UPLOAD = UploadSpec(
    file_fields=frozenset({"bits"}),
    max_bytes=lambda s: s.max_upload_size,
    too_large=_too_large,
)


def routes() -> list[BaseRoute]:
    return [
        get("/v3/packages", list_packages),
        post("/v3/packages", create, body=PACKAGE_CREATE_FIELDS),
        get("/v3/packages/{guid}", show_package),
        patch("/v3/packages/{guid}", update, body=PACKAGE_UPDATE_FIELDS),
        delete("/v3/packages/{guid}", delete_package),
        Route("/v3/packages/{guid}/upload", upload_endpoint(upload, UPLOAD), methods=["POST"]),
        get("/v3/packages/{guid}/download", download),
        get("/v3/apps/{guid}/packages", list_app_packages),
        post("/v3/apps/{guid}/packages", create_legacy),
    ]
