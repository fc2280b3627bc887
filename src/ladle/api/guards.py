"""The checks routes make before acting: visible (else 404), allowed (else 403), active (else 403)."""

from __future__ import annotations

from ladle.api.routing import RequestContext
from ladle.auth.permissions import SpaceRef
from ladle.db.lookup import by_guid, space_ref_of_app
from ladle.db.models import App, Organization
from ladle.errors import CFError

__all__ = ["readable_app", "require", "require_active_org", "require_active_space"]


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
    app = by_guid(ctx.db, App, guid)
    if app is None:
        raise CFError("ResourceNotFound", "App not found")
    ref = space_ref_of_app(ctx.db, app)
    if not ctx.perms.can_read_from_space(ref):
        raise CFError("ResourceNotFound", "App not found")
    return app, ref
