"""``POST /v3/resource_matches``: which of the client's files the platform already has."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.resource_match import match_resources
from ladle.api.routing import RequestContext, cf_json, post
from ladle.db.feature_flags import require_flag
from ladle.messages.resource_match import parse_resource_match
from ladle.presenters.resource_match import present_resource_matches

__all__ = ["routes"]


def match(ctx: RequestContext) -> Response:
    require_flag(ctx.db, "app_bits_upload", ctx.identity)
    fingerprints = parse_resource_match(ctx.json())
    matched = match_resources(ctx.db, ctx.deps.settings, ctx.deps.blobstores, fingerprints)
    return cf_json(present_resource_matches(matched), status=201)


def routes() -> list[BaseRoute]:
    return [post("/v3/resource_matches", match)]
