"""Creating a deployment: a new droplet (or the same one) rolled onto an app's web instances.

Cloud Controller clones the web process into a new one and scales the two against each other.
Ladle keeps the one web process and gives it a new ``version`` instead; the deployment records
that version, and the runner replaces the instances of older versions with new ones,
``max_in_flight`` at a time, each new one healthy before an old one stops, then finalizes the
deployment DEPLOYED. A stopped app has nothing to roll: it is simply started, and the deployment
is finished at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.app_state import move_processes
from ladle.actions.current_droplet import UNASSIGNABLE, set_current_droplet
from ladle.actions.metadata_update import apply_metadata
from ladle.actions.process_scale import apply_scale
from ladle.actions.quota_checks import Footprint, check_process_quotas, deployment_quota_error
from ladle.clock import new_guid, utcnow
from ladle.config import Settings
from ladle.db.deployments import ACTIVE, FINALIZED
from ladle.db.models import App, Deployment, Organization, Space
from ladle.db.processes import process_of_app
from ladle.errors import CFError
from ladle.messages.deployment_create import DeploymentCreate

__all__ = ["create_deployment"]

NO_DROPLET = "Invalid droplet. Please specify a droplet in the request or set a current droplet for the app."
NO_REVISIONS = "Cannot create deployment from a revision for an app without revisions enabled"


def _supersede(session: Session, app: App) -> None:
    """An app has one deployment in flight: a new one takes over from it."""
    now = utcnow()
    session.execute(
        update(Deployment)
        .where(Deployment.app_guid == app.guid, Deployment.status_value == ACTIVE)
        .values(status_value=FINALIZED, status_reason="SUPERSEDED", status_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _event_data(deployment: Deployment, msg: DeploymentCreate) -> dict[str, Any]:
    return {
        "deployment_guid": deployment.guid,
        "droplet_guid": deployment.droplet_guid,
        "type": None,
        "revision_guid": None,
        "request": msg.audit_request,
        "strategy": deployment.strategy,
    }


def create_deployment(session: Session, settings: Settings, msg: DeploymentCreate, change: AppChange) -> Deployment:
    app = change.app
    if msg.revision_guid is not None:
        raise CFError("UnprocessableEntity", NO_REVISIONS)
    droplet_guid = msg.droplet_guid or app.droplet_guid
    if droplet_guid is None:
        raise CFError("UnprocessableEntity", NO_DROPLET)
    previous_droplet = app.droplet_guid
    set_current_droplet(session, settings, app, droplet_guid)
    session.flush()
    web = process_of_app(session, app.guid, "web")
    if web is None:
        raise CFError("UnprocessableEntity", UNASSIGNABLE)
    before = Footprint.of(web)
    apply_scale(web, msg.scale, settings.max_app_disk_mb)
    was_stopped = app.state == "STOPPED"
    try:
        if msg.scale.instances is not None or msg.scale.memory_in_mb is not None:
            check_process_quotas(session, web, before, assume_started=True)
        if was_stopped:
            move_processes(session, app, "STARTED")
    except CFError as error:
        space = session.scalars(select(Space).where(Space.guid == app.space_guid)).one()
        org = session.scalars(select(Organization).where(Organization.guid == space.organization_guid)).one()
        raise deployment_quota_error(error, space, org) from None
    now = utcnow()
    deployment = Deployment(
        app_guid=app.guid,
        strategy=msg.strategy,
        max_in_flight=msg.max_in_flight,
        droplet_guid=droplet_guid,
        previous_droplet_guid=previous_droplet,
        web_instances=msg.scale.instances,
        memory_in_mb=msg.scale.memory_in_mb,
        disk_in_mb=msg.scale.disk_in_mb,
        log_rate_limit=msg.scale.log_rate_limit,
        status_changed_at=now,
    )
    if was_stopped:
        deployment.status_value, deployment.status_reason = FINALIZED, "DEPLOYED"
        change.record(session, "audit.app.start")
    else:
        _supersede(session, app)
        web.version, web.updated_at = new_guid(), now
        deployment.status_value, deployment.status_reason = ACTIVE, "DEPLOYING"
        deployment.process_guid, deployment.process_version = web.guid, web.version
    session.add(deployment)
    session.flush()
    apply_metadata(session, settings, "deployment", deployment.guid, msg.metadata)
    change.record(session, "audit.app.deployment.create", _event_data(deployment, msg))
    change.commit(session)
    return deployment
