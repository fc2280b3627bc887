"""Who changes an app's desired state, and what follows: an audit event, a commit, a notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ladle.actions.audit import actor_of, app_target, record_event
from ladle.actions.desired_state import Notify, commit_desired_state
from ladle.auth.identity import Identity
from ladle.db.models import App

__all__ = ["AppChange"]


@dataclass(frozen=True)
class AppChange:
    app: App
    organization_guid: str
    identity: Identity
    # Told after the commit, so a runner acts on the new desired state at once.
    notify: Notify

    def record(self, session: Session, event_type: str, data: dict[str, Any] | None = None) -> None:
        """An ``audit.app.*`` event by the caller on the app, in the change's transaction."""
        record_event(session, event_type, actor_of(self.identity), app_target(self.app, self.organization_guid), data)

    def commit(self, session: Session) -> None:
        commit_desired_state(session, self.notify)
