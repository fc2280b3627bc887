"""``apply_manifest``, ``manifest_diff`` and ``GET /v3/apps/:guid/manifest``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.manifest_apply import prepare_apply
from ladle.actions.manifest_diff import diff_manifest
from ladle.api.guards import readable_app, require, require_active_space
from ladle.api.responses import accepted_job
from ladle.api.routing import RequestContext, cf_json, get, post
from ladle.db.app_manifest import app_in_space, manifest_parts
from ladle.db.lookup import by_guid, space_ref
from ladle.db.models import App, Organization, Space
from ladle.errors import CFError
from ladle.messages.manifest import parse_manifest
from ladle.presenters.app_manifest import app_manifest_entry, manifest_yaml

__all__ = ["routes"]


def _writable_space(ctx: RequestContext) -> tuple[Space, Organization]:
    space = by_guid(ctx.db, Space, ctx.param("guid"))
    ref = space_ref(ctx.db, space.guid) if space else None
    if space is None or ref is None or not ctx.perms.can_read_from_space(ref):
        raise CFError("ResourceNotFound", "Space not found")
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    content_type = ctx.headers.get("content-type", "")
    if "yaml" not in content_type.lower():
        raise CFError("BadRequest", "Content-Type must be yaml")
    org = by_guid(ctx.db, Organization, ref.org_guid)
    assert org is not None
    return space, org


def apply_manifest(ctx: RequestContext) -> Response:
    space, org = _writable_space(ctx)
    job = prepare_apply(
        ctx.db, ctx.deps.settings, space, org, body=ctx.body, identity=ctx.user, executor=ctx.deps.executor
    )
    return accepted_job(ctx, job)


def _entry(ctx: RequestContext, app: App) -> dict[str, Any]:
    return app_manifest_entry(app, manifest_parts(ctx.db, app))


def manifest_diff(ctx: RequestContext) -> Response:
    space, _ = _writable_space(ctx)
    manifests = parse_manifest(ctx.body)
    current = []
    for manifest in manifests:
        app = app_in_space(ctx.db, space.guid, manifest.name)
        current.append(_entry(ctx, app) if app is not None else None)
    wanted = [dict(m.raw) for m in manifests]
    return cf_json({"diff": diff_manifest(current, wanted)}, status=201)


def show_manifest(ctx: RequestContext) -> Response:
    app, ref = readable_app(ctx, ctx.param("guid"))
    require(ctx.perms.can_read_secrets_in_space(ref))
    body = manifest_yaml([_entry(ctx, app)])
    return Response(body, media_type="application/x-yaml")


def routes() -> list[BaseRoute]:
    return [
        post("/v3/spaces/{guid}/actions/apply_manifest", apply_manifest),
        post("/v3/spaces/{guid}/manifest_diff", manifest_diff),
        get("/v3/apps/{guid}/manifest", show_manifest),
    ]
