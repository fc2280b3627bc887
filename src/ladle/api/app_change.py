"""The :class:`AppChange` a route hands to the actions that change an app's desired state."""

from __future__ import annotations

from ladle.actions.app_change import AppChange
from ladle.api.routing import RequestContext
from ladle.db.models import App
from ladle.db.permissions import SpaceRef

__all__ = ["app_change"]


def app_change(ctx: RequestContext, app: App, ref: SpaceRef) -> AppChange:
    return AppChange(app, ref.org_guid, ctx.user, ctx.deps.notify_desired_state)
