"""The ASGI application: routes, middleware and error handlers, assembled from settings."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ladle.actions.recovery import recover_at_startup, sweep_orphan_blobs
from ladle.actions.staging_jobs import fail_expired_builds
from ladle.actions.system_buildpacks import install_at_startup
from ladle.api import (
    app_env,
    apps,
    buildpacks,
    builds,
    current_droplet,
    droplets,
    feature_flags,
    jobs,
    log_cache,
    organizations,
    packages,
    processes,
    resource_matches,
    roles,
    root,
    spaces,
    stacks,
    uaa,
    users,
)
from ladle.api.middleware import RequestIdMiddleware
from ladle.api.routing import error_response
from ladle.auth.keys import load_or_create_signing_key
from ladle.auth.tokens import ExternalUaaVerifier, LocalVerifier, TokenIssuer, TokenVerifier
from ladle.blobstore import Blobstores, local_blobstores
from ladle.bootstrap import prepare
from ladle.config import Settings
from ladle.db.logs import prune_log_lines
from ladle.db.revocation import prune_revoked
from ladle.db.session import Database
from ladle.deps import Deps
from ladle.errors import CFError
from ladle.jobs.executor import PeriodicTask
from ladle.jobs.inprocess import InProcessExecutor
from ladle.jobs.kinds import job_kinds
from ladle.jobs.runner import JobRunner
from ladle.urls import Urls

__all__ = ["build_deps", "create_app"]

log = logging.getLogger("ladle")


def periodic_tasks(db: Database, blobstores: Blobstores, settings: Settings) -> list[PeriodicTask]:
    def prune_tokens() -> None:
        with db.session() as s:
            prune_revoked(s)

    def prune_logs() -> None:
        with db.session() as s:
            prune_log_lines(s, settings.max_log_lines_per_app)

    return [
        # Spare young blobs: they may belong to a write that has not committed its row yet.
        PeriodicTask("orphan-blobs", 3600, lambda: sweep_orphan_blobs(db, blobstores, timedelta(hours=1))),
        PeriodicTask("revoked-tokens", 3600, prune_tokens),
        PeriodicTask("expired-builds", 60, lambda: fail_expired_builds(db, settings)),
        PeriodicTask("log-lines", 600, prune_logs),
    ]


def build_deps(settings: Settings) -> Deps:
    db = Database(settings.effective_database_url)
    prepare(settings, db)
    verifier: TokenVerifier
    issuer: TokenIssuer | None = None
    if settings.uaa_url:
        verifier = ExternalUaaVerifier(settings.uaa_url)
    else:
        key = load_or_create_signing_key(settings.data_dir)
        issuer = TokenIssuer(key, settings.token_server_url, settings.access_token_ttl, settings.refresh_token_ttl)
        verifier = LocalVerifier(key)
    blobstores = local_blobstores(settings.blobstore_root)
    install_at_startup(settings, db, blobstores)
    worker_id = f"{socket.gethostname()}:{settings.data_dir}"
    runner = JobRunner(db, settings, blobstores, job_kinds(), worker_id)
    executor = InProcessExecutor(
        runner, workers=settings.job_workers, periodic=periodic_tasks(db, blobstores, settings)
    )
    return Deps(
        settings=settings,
        db=db,
        urls=Urls(settings.effective_external_url),
        verifier=verifier,
        issuer=issuer,
        executor=executor,
        runner=runner,
        blobstores=blobstores,
    )


def _routes(deps: Deps) -> list[BaseRoute]:
    out: list[BaseRoute] = [*root.routes()]
    if deps.issuer is not None:
        out += uaa.routes()
    for module in (
        organizations,
        spaces,
        apps,
        app_env,
        processes,
        packages,
        resource_matches,
        builds,
        current_droplet,
        droplets,
        buildpacks,
        stacks,
        log_cache,
        roles,
        users,
        feature_flags,
        jobs,
    ):
        out += module.routes()
    return out


async def _not_found(_request: Request, _exc: Exception) -> Response:
    # Unknown paths and known paths with an unknown method alike are "Unknown request" in CC.
    return error_response(CFError("NotFound"))


async def _http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code in {404, 405}:
        return await _not_found(request, exc)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(CFError("InvalidRequest")) if status < 500 else error_response(CFError("ServerError"))


def create_app(settings: Settings, deps: Deps | None = None) -> Starlette:
    deps = deps or build_deps(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(recover_at_startup, deps.settings, deps.db, deps.blobstores, deps.runner)
        deps.executor.start()
        log.info("ladle ready", extra={"url": deps.urls.base, "database": deps.db.engine.url.get_backend_name()})
        try:
            yield
        finally:
            deps.executor.shutdown(wait=False)
            deps.db.dispose()

    app = Starlette(
        debug=False,
        routes=_routes(deps),
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.deps = deps
    return app
