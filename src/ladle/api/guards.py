"""The checks routes make before acting: visible (else 404), allowed (else 403), active (else 403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ladle.api.routing import RequestContext
from ladle.db.lookup import app_with_space_ref, by_guid, by_guid_with_app, space_ref
from ladle.db.models import (
    App,
    Build,
    Deployment,
    Droplet,
    Organization,
    Package,
    Process,
    Route,
    ServiceInstance,
    Task,
)
from ladle.db.permissions import SpaceRef
from ladle.db.processes import process_of_app
from ladle.errors import CFError

__all__ = [
    "readable_app",
    "readable_in_space",
    "readable_of_app",
    "readable_process",
    "readable_with_app",
    "require",
    "require_active_org",
    "require_active_space",
    "writable_app",
    "writable_process",
]

AppOwned = TypeVar("AppOwned", Build, Deployment, Droplet, Package, Process, Task)
SpaceOwned = TypeVar("SpaceOwned", App, Route, ServiceInstance)


def require(allowed: bool) -> None:
    if not allowed:
        raise CFError("NotAuthorized")


def require_active_space(ctx: RequestContext, ref: SpaceRef) -> None:
    """Admins act anywhere; everyone else is stopped at a suspended organization."""
    if ref.org_suspended and not ctx.perms.is_admin:
        raise CFError("OrgSuspended")


def require_active_org(ctx: RequestContext, org: Organization) -> None:
    if org.suspended and not ctx.perms.is_admin:
        raise CFError("OrgSuspended")


def readable_app(ctx: RequestContext, guid: str) -> tuple[App, SpaceRef]:
    """The app, if it exists and the caller may see it; otherwise "App not found" (never 403)."""
    found = app_with_space_ref(ctx.db, guid)
    if found is None or not ctx.perms.can_read_from_space(found[1]):
        raise CFError("ResourceNotFound", "App not found")
    return found


def readable_in_space(
    ctx: RequestContext,
    model: type[SpaceOwned],
    guid: str,
    not_found: CFError,
    may_read: Callable[[SpaceRef], bool] | None = None,
) -> tuple[SpaceOwned, SpaceRef]:
    """A row of a space (app, route, service instance) with its space, if it exists and the
    caller may read it there (``may_read``, by default reading from the space); otherwise
    ``not_found``, never 403."""
    row = by_guid(ctx.db, model, guid)
    ref = space_ref(ctx.db, row.space_guid) if row is not None else None
    if row is None or ref is None or not (may_read or ctx.perms.can_read_from_space)(ref):
        raise not_found
    return row, ref


def readable_with_app(
    ctx: RequestContext, model: type[AppOwned], guid: str, *, state_updater_reads: bool = False
) -> tuple[AppOwned, App, SpaceRef]:
    """A row of an app (build, droplet, package, process, task, deployment) the caller may see, by
    the rule of its app's space, with that app; otherwise "<Resource> not found".
    ``state_updater_reads``: the staging-state scope sees it anywhere."""
    not_found = CFError("ResourceNotFound", f"{model.__name__} not found")
    found = by_guid_with_app(ctx.db, model, guid)
    if found is None:
        raise not_found
    row, app, ref = found
    if not (ctx.perms.can_read_from_space(ref) or (state_updater_reads and ctx.perms.is_build_state_updater)):
        raise not_found
    return row, app, ref


def readable_of_app(
    ctx: RequestContext, model: type[AppOwned], guid: str, *, state_updater_reads: bool = False
) -> tuple[AppOwned, SpaceRef]:
    """:func:`readable_with_app` for callers that need no more of the app than its space."""
    row, _, ref = readable_with_app(ctx, model, guid, state_updater_reads=state_updater_reads)
    return row, ref


def writable_app(ctx: RequestContext, guid: str | None, *, missing: CFError) -> App:
    """The app a new resource goes to: ``missing`` if it cannot be seen, 403 if not writable."""
    found = app_with_space_ref(ctx.db, guid or "")
    if found is None or not ctx.perms.can_read_from_space(found[1]):
        raise missing
    app, ref = found
    require(ctx.perms.can_write_to_space(ref))
    require_active_space(ctx, ref)
    return app


def readable_process(ctx: RequestContext) -> tuple[Process, App, SpaceRef]:
    """The process a ``/v3/processes/{guid}`` or ``/v3/apps/{guid}/processes/{type}`` path names.

    Nested paths answer "App not found" for an app the caller cannot see, then "Process not
    found" for a type it lacks; the flat path answers "Process not found" for both.
    """
    if "type" in ctx.path_params:
        app, ref = readable_app(ctx, ctx.param("guid"))
        process = process_of_app(ctx.db, app.guid, ctx.param("type"))
        if process is None:
            raise CFError("ResourceNotFound", "Process not found")
        return process, app, ref
    return readable_with_app(ctx, Process, ctx.param("guid"))


def writable_process(ctx: RequestContext) -> tuple[Process, App, SpaceRef]:
    """A readable process the caller may manage (Space Developer or Supporter, or admin)."""
    process, app, ref = readable_process(ctx)
    require(ctx.perms.can_manage_apps_in_space(ref))
    require_active_space(ctx, ref)
    return process, app, ref
