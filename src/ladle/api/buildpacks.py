"""``/v3/buildpacks``: any caller reads them, admins create, change, upload and delete them."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ladle.actions.buildpacks import (
    accept_buildpack_upload,
    create_buildpack,
    request_buildpack_delete,
    update_buildpack,
)
from ladle.api.guards import require
from ladle.api.listing import parse_list_or_raise
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, UploadSpec, cf_json, delete, get, patch, post, upload_endpoint
from ladle.api.uploads import UploadForm
from ladle.config import Settings
from ladle.db.buildpacks import buildpacks_page
from ladle.db.lookup import by_guid
from ladle.db.metadata import load_metadata
from ladle.db.models import Buildpack
from ladle.errors import CFError
from ladle.messages.buildpack import (
    BUILDPACK_CREATE_FIELDS,
    BUILDPACK_UPDATE_FIELDS,
    parse_buildpack_create,
    parse_buildpack_update,
    parse_buildpack_upload,
)
from ladle.messages.lists import ListSpec
from ladle.presenters.buildpack import present_buildpack
from ladle.presenters.pagination import present_page

__all__ = ["routes"]

LIST = ListSpec(
    keys=("stacks", "names", "lifecycle", "page", "per_page"),
    array_keys=frozenset({"stacks", "names"}),
    order_by=("created_at", "updated_at", "position", "lifecycle"),
)


def _present(ctx: RequestContext, buildpack: Buildpack) -> dict[str, Any]:
    return present_buildpack(buildpack, load_metadata(ctx.db, "buildpack", [buildpack.guid])[buildpack.guid], ctx.urls)


def _buildpack(ctx: RequestContext) -> Buildpack:
    buildpack = by_guid(ctx.db, Buildpack, ctx.param("guid"))
    if buildpack is None:
        raise CFError("ResourceNotFound", "Buildpack not found")
    return buildpack


def list_buildpacks(ctx: RequestContext) -> Response:
    params = parse_list_or_raise(ctx, LIST)
    lifecycle = params.scalars.get("lifecycle")
    if lifecycle is not None and lifecycle not in ("buildpack", "cnb"):
        raise CFError("BadQueryParameter", 'Lifecycle must be either "buildpack" or "cnb"')
    page = buildpacks_page(ctx.db, params)
    metadata = load_metadata(ctx.db, "buildpack", [b.guid for b in page.rows])
    resources = [present_buildpack(b, metadata[b.guid], ctx.urls) for b in page.rows]
    return cf_json(present_page(resources, page.total, params, ctx.urls.v3("buildpacks")))


def show(ctx: RequestContext) -> Response:
    return cf_json(_present(ctx, _buildpack(ctx)))


def create(ctx: RequestContext) -> Response:
    require(ctx.perms.is_admin)
    change = parse_buildpack_create(ctx.json())
    return cf_json(_present(ctx, create_buildpack(ctx.db, ctx.deps.settings, change)), status=201)


def update(ctx: RequestContext) -> Response:
    buildpack = _buildpack(ctx)
    require(ctx.perms.is_admin)
    change = parse_buildpack_update(ctx.json())
    return cf_json(_present(ctx, update_buildpack(ctx.db, ctx.deps.settings, buildpack, change)))


def remove(ctx: RequestContext) -> Response:
    buildpack = _buildpack(ctx)
    require(ctx.perms.is_admin)
    return accepted_job(ctx, request_buildpack_delete(ctx.db, ctx.deps.executor, buildpack, ctx.user.user_guid))


def upload(ctx: RequestContext) -> Response:
    form: UploadForm = ctx.extras["form"]
    buildpack = _buildpack(ctx)
    require(ctx.perms.is_admin)
    bits = form.files.get("bits")
    filename = parse_buildpack_upload(
        form.fields,
        filename=bits.filename if bits else None,
        head=bits.head() if bits else None,
        size=bits.digest.size if bits else 0,
    )
    assert bits is not None
    if buildpack.locked:
        raise CFError("UnprocessableEntity", "Buildpack is locked")
    job = accept_buildpack_upload(
        ctx.db,
        ctx.deps.executor,
        ctx.deps.blobstores,
        buildpack,
        bits.bits,
        filename=filename,
        user_guid=ctx.user.user_guid,
    )
    form.files.pop("bits")
    return accepted_job(ctx, job, body=_present(ctx, buildpack))


def _too_large(settings: Settings) -> CFError:
    return CFError("UnprocessableEntity", "Uploaded buildpack file is invalid: the file is too large")


UPLOAD = UploadSpec(file_fields=frozenset({"bits"}), max_bytes=lambda s: 4 * 1024 * 1024 * 1024, too_large=_too_large)


def routes() -> list[BaseRoute]:
    return [
        get("/v3/buildpacks", list_buildpacks, query=LIST),
        post("/v3/buildpacks", create, body=BUILDPACK_CREATE_FIELDS),
        get("/v3/buildpacks/{guid}", show),
        patch("/v3/buildpacks/{guid}", update, body=BUILDPACK_UPDATE_FIELDS),
        delete("/v3/buildpacks/{guid}", remove),
        Route("/v3/buildpacks/{guid}/upload", upload_endpoint(upload, UPLOAD), methods=["POST"]),
    ]
