"""The documents that need no token: ``/``, ``/v3``, ``/v3/info`` and ``/healthz``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ladle.api.routing import RequestContext, cf_json, get
from ladle.presenters.root import present_global_root, present_info, present_v3_root

__all__ = ["V3_COLLECTIONS", "routes", "served_collections"]

# Every collection Cloud Controller lists at /v3, in its order. ``GET /v3`` lists those of them
# Ladle serves (the cf CLI v7 builds its URL table from that document), so serving a new one
# is all it takes to list it.
V3_COLLECTIONS = (
    "app_usage_events",
    "apps",
    "audit_events",
    "buildpacks",
    "builds",
    "deployments",
    "domains",
    "droplets",
    "environment_variable_groups",
    "feature_flags",
    "info",
    "isolation_segments",
    "organizations",
    "organization_quotas",
    "packages",
    "processes",
    "resource_matches",
    "roles",
    "routes",
    "security_groups",
    "service_brokers",
    "service_instances",
    "service_credential_bindings",
    "service_offerings",
    "service_plans",
    "service_route_bindings",
    "service_usage_events",
    "spaces",
    "space_quotas",
    "stacks",
    "tasks",
    "users",
)


def served_collections(served: Iterable[BaseRoute]) -> list[str]:
    """The collections of :data:`V3_COLLECTIONS` that ``served`` answers at ``/v3/<name>``."""
    paths = {route.path for route in served if isinstance(route, Route)}
    return [name for name in V3_COLLECTIONS if f"/v3/{name}" in paths]


def global_root(ctx: RequestContext) -> Response:
    return cf_json(present_global_root(ctx.urls, ctx.deps.settings.token_server_url))


def info(ctx: RequestContext) -> Response:
    settings = ctx.deps.settings
    router = f"http://{settings.router_host}:{settings.router_port}" if settings.router_enabled else None
    return cf_json(present_info(ctx.urls, router))


async def healthz(_request: object) -> Response:
    return PlainTextResponse("OK")


def routes(resources: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The root documents; ``/v3`` links to whichever collections ``resources`` serve."""
    own = [get("/v3/info", info, access="public")]
    collections = served_collections([*own, *resources])

    def v3_root(ctx: RequestContext) -> Response:
        return cf_json(present_v3_root(ctx.urls, collections))

    return [
        get("/", global_root, access="public"),
        get("/v3", v3_root, access="public"),
        get("/v3/", v3_root, access="public"),
        *own,
        Route("/healthz", healthz, methods=["GET"]),
    ]
