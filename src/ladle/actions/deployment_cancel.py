"""Cancelling a deployment: the app goes back to its previous droplet.

When no instance of the deployment's version exists yet, nothing has been rolled: the web
process gets back the version its instances still run, and the deployment is CANCELED at once.
Otherwise the web process gets a fresh version (running the previous droplet, now current
again), the deployment is ACTIVE/CANCELING on that version, and the runner rolls the instances
back as it rolled them forward, then finalizes it CANCELED.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.current_droplet import set_current_droplet
from ladle.clock import new_guid, utcnow
from ladle.config import Settings
from ladle.db.deployments import ACTIVE, FINALIZED
from ladle.db.lookup import by_guid
from ladle.db.models import Deployment, Instance, Process
from ladle.errors import CFError

__all__ = ["cancel_deployment"]


def _versions_running(session: Session, process_guid: str) -> set[str]:
    return set(session.scalars(select(Instance.process_version).where(Instance.process_guid == process_guid)))


def _roll_back(session: Session, deployment: Deployment, web: Process | None) -> dict[str, object]:
    """Point the web process where the rollback goes; returns the deployment's new status."""
    canceled: dict[str, object] = {"status_value": FINALIZED, "status_reason": "CANCELED"}
    if web is None:
        return canceled
    web.updated_at = utcnow()
    running = _versions_running(session, web.guid)
    if deployment.process_version not in running:
        older = running - {deployment.process_version}
        if len(older) == 1:
            web.version = older.pop()
        return canceled
    web.version = new_guid()
    return {"status_value": ACTIVE, "status_reason": "CANCELING", "process_version": web.version}


def _refuse(deployment: Deployment) -> CFError:
    return CFError(
        "UnprocessableEntity",
        f"Cannot cancel a deployment with status: {deployment.status_value} and reason: {deployment.status_reason}",
    )


def cancel_deployment(session: Session, settings: Settings, deployment: Deployment, change: AppChange) -> Deployment:
    if deployment.status_value != ACTIVE:
        raise _refuse(deployment)
    set_current_droplet(session, settings, change.app, deployment.previous_droplet_guid)
    event = {"deployment_guid": deployment.guid, "droplet_guid": deployment.droplet_guid}
    change.record(session, "audit.app.deployment.cancel", event)
    web = by_guid(session, Process, deployment.process_guid) if deployment.process_guid else None
    now = utcnow()
    # Conditional, so a runner finalizing the deployment at this moment is not overwritten.
    moved = session.execute(
        update(Deployment)
        .where(Deployment.id == deployment.id, Deployment.status_value == ACTIVE)
        .values(status_changed_at=now, updated_at=now, **_roll_back(session, deployment, web))
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        session.rollback()
        session.refresh(deployment)
        raise _refuse(deployment)
    change.commit(session)
    session.refresh(deployment)
    return deployment
