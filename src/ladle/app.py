"""The ASGI application: routes, middleware and error handlers, assembled from settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.system_buildpacks import install_at_startup
from ladle.api import (
    app_env,
    app_usage_events,
    apps,
    audit_events,
    buildpacks,
    builds,
    current_droplet,
    deployments,
    domains,
    droplets,
    env_var_groups,
    feature_flags,
    jobs,
    log_cache,
    manifests,
    marketplace,
    openapi,
    organization_quotas,
    organizations,
    packages,
    platform,
    process_stats,
    processes,
    resource_matches,
    roles,
    root,
    routes,
    service_bindings,
    service_instances,
    service_route_bindings,
    sidecars,
    space_quotas,
    spaces,
    stacks,
    tasks,
    uaa,
    users,
    v2,
)
from ladle.api.deps import Deps
from ladle.api.middleware import RequestIdMiddleware
from ladle.api.route_index import IndexedRouter
from ladle.api.routing import error_response
from ladle.auth.keys import load_or_create_signing_key
from ladle.auth.tokens import ExternalUaaVerifier, LocalVerifier, TokenIssuer, TokenVerifier
from ladle.bootstrap import ensure_admin
from ladle.config import Settings
from ladle.errors import CFError
from ladle.heap import settle_after_start
from ladle.router.process import start_router_process
from ladle.services import build_services
from ladle.urls import Urls

__all__ = ["build_deps", "create_app"]

log = logging.getLogger("ladle")


def build_deps(settings: Settings) -> Deps:
    """The node's services, plus what serving the API needs: token checks and absolute links."""
    services = build_services(settings)
    verifier: TokenVerifier
    issuer: TokenIssuer | None = None
    if settings.uaa_url:
        verifier = ExternalUaaVerifier(settings.uaa_url)
    else:
        ensure_admin(settings, services.db)
        key = load_or_create_signing_key(settings.data_dir, settings.token_signing_key_file)
        issuer = TokenIssuer(key, settings.token_server_url, settings.access_token_ttl, settings.refresh_token_ttl)
        verifier = LocalVerifier(key)
    install_at_startup(settings, services.db, services.blobstores)
    deps = Deps(services=services, urls=Urls(settings.effective_external_url), verifier=verifier, issuer=issuer)
    if services.app_runner is not None:
        deps.notify_desired_state = services.app_runner.wake
    return deps


def _routes(deps: Deps) -> list[BaseRoute]:
    resources: list[BaseRoute] = []
    uaa_routes = uaa.routes() if deps.issuer is not None else []
    resources += uaa_routes
    for module in (
        organizations,
        spaces,
        apps,
        app_env,
        processes,
        process_stats,
        sidecars,
        tasks,
        deployments,
        packages,
        resource_matches,
        builds,
        current_droplet,
        droplets,
        buildpacks,
        stacks,
        log_cache,
        domains,
        routes,
        manifests,
        roles,
        users,
        feature_flags,
        jobs,
        service_instances,
        service_bindings,
        service_route_bindings,
        marketplace,
        env_var_groups,
        v2,
        audit_events,
        organization_quotas,
        space_quotas,
        platform,
        app_usage_events,
    ):
        resources += module.routes()
    served = [*root.routes(resources), *resources]
    # The token server is UAA's API and /v2 is the v2 API, each with its own error shape: not
    # part of the v3 document.
    documented = [
        route for route in served if route not in uaa_routes and not getattr(route, "path", "").startswith("/v2/")
    ]
    return [*served, *openapi.routes(documented)]


async def _not_found(_request: Request, _exc: Exception) -> Response:
    # Unknown paths and known paths with an unknown method alike are "Unknown request" in CC.
    return error_response(CFError("NotFound"))


async def _http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code in {404, 405}:
        return await _not_found(request, exc)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(CFError("InvalidRequest")) if status < 500 else error_response(CFError("ServerError"))


def create_app(settings: Settings, deps: Deps | None = None, *, own_process: bool = False) -> Starlette:
    """The API. ``own_process`` when the app is all its process serves (``ladle serve``), not a
    guest in another's (a test's): its start-up heap is then frozen (:mod:`ladle.heap`)."""
    deps = deps or build_deps(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(deps.services.start)
        # The router runs beside the API (its own process), reading the table the runner fills.
        router = start_router_process(deps.settings) if deps.settings.router_enabled else None
        if router is not None:
            # Ready means apps can be reached: wait for the router's first table.
            if await run_in_threadpool(router.wait_ready):
                log.info("router started", extra={"url": router.url})
                # A change made on this node (an instance's state, a route's destinations, a
                # routing job) reaches the router's table at once.
                deps.services.changes.subscribe(router.poke)
            else:
                log.error("the router did not start", extra={"url": router.url})
        if own_process:
            settle_after_start()
        log.info("ladle ready", extra={"url": deps.urls.base, "database": deps.db.engine.url.get_backend_name()})
        try:
            yield
        finally:
            if router is not None:
                deps.services.changes.unsubscribe(router.poke)
                await run_in_threadpool(router.stop)
            await run_in_threadpool(deps.services.stop)

    app = Starlette(
        debug=False,
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={HTTPException: _http_error},
    )
    app.router = IndexedRouter(routes=_routes(deps), lifespan=lifespan)
    app.state.deps = deps
    return app
