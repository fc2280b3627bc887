"""Create an app, with its web process (which shares the app's guid)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import actor_of, hide_environment, record_app_event
from ladle.actions.metadata_update import apply_metadata
from ladle.actions.processes import new_process
from ladle.auth.identity import Identity
from ladle.clock import new_guid
from ladle.config import Settings
from ladle.db.feature_flags import require_flag
from ladle.db.lifecycle import buildpack_errors, stack_exists
from ladle.db.models import App, Space
from ladle.errors import CFError
from ladle.messages.app_create import AppCreate
from ladle.messages.environment import env_key_error
from ladle.messages.lifecycle import LifecycleRequest

__all__ = ["check_lifecycle_flags", "create_app", "resolve_buildpack_lifecycle", "unique_name_error"]


def check_lifecycle_flags(session: Session, lifecycle_type: str, identity: Identity) -> None:
    if lifecycle_type == "docker":
        require_flag(session, "diego_docker", identity)
    elif lifecycle_type == "cnb":
        require_flag(session, "diego_cnb", identity)


def resolve_buildpack_lifecycle(
    session: Session,
    settings: Settings,
    request: LifecycleRequest | None,
    current_buildpacks: list[str],
    current_stack: str | None,
) -> tuple[list[str], str | None]:
    """The buildpacks and stack an app or build ends up with, checked against the platform."""
    data = request.data if request else {}
    buildpacks = list(data["buildpacks"] or []) if "buildpacks" in data else list(current_buildpacks)
    stack = data["stack"] if data.get("stack") is not None else (current_stack or settings.default_stack)
    errors = buildpack_errors(session, buildpacks, stack)
    if stack is not None and not stack_exists(session, stack):
        errors.append("Stack must be an existing stack")
    if errors:
        raise CFError("UnprocessableEntity", errors)
    return buildpacks, stack


def unique_name_error(name: str) -> CFError:
    return CFError("UniquenessError", f"App with the name '{name}' already exists.")


def model_errors(name: str, env: dict[str, object]) -> list[str]:
    """The checks Cloud Controller's app model makes on save (worded as Sequel words them)."""
    errors: list[str] = []
    if not name:
        errors.append("name is not present")
    for key in env:
        if message := env_key_error(key):
            errors.append(f"environment_variables {message}")
    return errors


def create_app(
    session: Session,
    settings: Settings,
    space: Space,
    msg: AppCreate,
    identity: Identity,
    *,
    request: dict[str, Any] | None = None,
) -> App:
    lifecycle_type = msg.lifecycle.resolved_type("buildpack") if msg.lifecycle else "buildpack"
    check_lifecycle_flags(session, lifecycle_type, identity)
    buildpacks: list[str] = []
    stack: str | None = None
    if lifecycle_type != "docker":
        buildpacks, stack = resolve_buildpack_lifecycle(session, settings, msg.lifecycle, [], None)
    name = msg.name.strip()
    if errors := model_errors(name, msg.environment_variables):
        raise CFError("UnprocessableEntity", errors)
    taken = session.scalar(select(App.id).where(App.space_guid == space.guid, func.lower(App.name) == name.lower()))
    if taken is not None:
        raise unique_name_error(name)
    app = App(
        guid=new_guid(),
        name=name,
        space_guid=space.guid,
        state="STOPPED",
        lifecycle_type=lifecycle_type,
        buildpacks=buildpacks,
        stack=stack,
        environment_variables=msg.environment_variables,
    )
    session.add(app)
    session.add(new_process(settings, app, "web", guid=app.guid))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise unique_name_error(name) from None
    apply_metadata(session, settings, "app", app.guid, msg.metadata)
    event_request = hide_environment(request or {"name": name})
    record_app_event(session, "audit.app.create", actor_of(identity), app, {"request": event_request})
    session.commit()
    return app
