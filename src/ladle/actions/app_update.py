"""Rename an app, change its lifecycle data or metadata."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.app_create import model_errors, resolve_buildpack_lifecycle, unique_name_error
from ladle.actions.audit import Actor, record_app_event
from ladle.actions.metadata_update import apply_metadata
from ladle.config import Settings
from ladle.db.models import App
from ladle.errors import CFError
from ladle.messages.app_update import AppUpdate

__all__ = ["update_app"]


def update_app(
    session: Session,
    settings: Settings,
    app: App,
    msg: AppUpdate,
    actor: Actor | None = None,
    *,
    request: dict[str, Any] | None = None,
) -> App:
    if msg.lifecycle is not None:
        wanted = msg.lifecycle.resolved_type(app.lifecycle_type)
        if wanted != app.lifecycle_type:
            raise CFError(
                "UnprocessableEntity",
                f"Lifecycle type cannot be changed from {app.lifecycle_type} to {wanted}",
            )
        if wanted != "docker":
            app.buildpacks, app.stack = resolve_buildpack_lifecycle(
                session, settings, msg.lifecycle, list(app.buildpacks or []), app.stack
            )
    if msg.name is not None:
        name = msg.name.strip()
        if errors := model_errors(name, {}):
            raise CFError("UnprocessableEntity", errors)
        taken = session.scalar(
            select(App.id).where(
                App.space_guid == app.space_guid, func.lower(App.name) == name.lower(), App.guid != app.guid
            )
        )
        if taken is not None:
            raise unique_name_error(name)
        app.name = name
    apply_metadata(session, settings, "app", app.guid, msg.metadata)
    record_app_event(session, "audit.app.update", actor, app, {"request": request or {}})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise unique_name_error(msg.name or app.name) from None
    return app
