"""Change an app's environment variables (merge; a null value removes the variable)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.db.models import App

__all__ = ["update_app_env"]


def update_app_env(session: Session, app: App, changes: dict[str, str | None]) -> dict[str, str]:
    merged = {**(app.environment_variables or {}), **changes}
    app.environment_variables = {k: v for k, v in merged.items() if v is not None}
    session.commit()
    return dict(app.environment_variables)
