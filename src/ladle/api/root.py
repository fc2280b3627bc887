"""The documents that need no token: ``/``, ``/v3``, ``/v3/info`` and ``/healthz``."""

from __future__ import annotations

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ladle import CC_API_VERSION
from ladle.api.routing import RequestContext, cf_json, get
from ladle.urls import link

__all__ = ["routes"]

# Every collection Cloud Controller lists at /v3, in its order, served by Ladle or not:
# the cf CLI v7 builds its URL table from this document.
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


def global_root(ctx: RequestContext) -> Response:
    base = ctx.urls.base
    login = ctx.deps.settings.token_server_url
    return cf_json(
        {
            "links": {
                "self": link(base),
                "cloud_controller_v3": {"href": f"{base}/v3", "meta": {"version": CC_API_VERSION}},
                "network_policy_v0": link(f"{base}/networking/v0/external"),
                "network_policy_v1": link(f"{base}/networking/v1/external"),
                "login": link(login),
                "uaa": link(login),
                "credhub": None,
                "routing": None,
                "logging": None,
                "log_cache": link(base),
                "log_stream": None,
                "app_ssh": None,
            }
        }
    )


def v3_root(ctx: RequestContext) -> Response:
    links = {"self": link(ctx.urls.v3().rstrip("/"))}
    links.update({name: link(ctx.urls.v3(name)) for name in V3_COLLECTIONS})
    return cf_json({"links": links})


def info(ctx: RequestContext) -> Response:
    return cf_json(
        {
            "build": "",
            "cli_version": {"minimum": "", "recommended": ""},
            "custom": {},
            "description": "",
            "name": "",
            "version": 0,
            "osbapi_version": "2.15",
            "rate_limits": {"enabled": False, "general_limit": 2000, "reset_interval_in_minutes": 30},
            "links": {"self": link(ctx.urls.v3("info")), "support": link("")},
        }
    )


async def healthz(_request: object) -> Response:
    return PlainTextResponse("OK")


def routes() -> list[BaseRoute]:
    return [
        get("/", global_root, access="public"),
        get("/v3", v3_root, access="public"),
        get("/v3/", v3_root, access="public"),
        get("/v3/info", info, access="public"),
        Route("/healthz", healthz, methods=["GET"]),
    ]
