"""``POST /v3/resource_matches``: which of the client's files the platform already has."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.package_upload import resource_pool
from ladle.api.routing import RequestContext, cf_json, post
from ladle.db.feature_flags import get_flag, require_flag
from ladle.messages.resource_match import parse_resource_match

__all__ = ["routes"]


def match(ctx: RequestContext) -> Response:
    require_flag(ctx.db, "app_bits_upload", ctx.identity)
    fingerprints = parse_resource_match(ctx.json())
    flag = get_flag(ctx.db, "resource_matching")
    matched = []
    if flag is not None and flag.enabled:
        pool = resource_pool(ctx.deps.settings, ctx.deps.blobstores)
        matched = [f for f in fingerprints if pool.matchable(f.sha1, f.size) and pool.has(f.sha1)]
    return cf_json(
        {
            "resources": [
                {"checksum": {"value": f.sha1}, "size_in_bytes": f.size, "path": f.fn, "mode": f.mode} for f in matched
            ]
        },
        status=201,
    )


def routes() -> list[BaseRoute]:
    return [post("/v3/resource_matches", match)]
