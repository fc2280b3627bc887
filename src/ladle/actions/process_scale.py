"""Scaling a process: instance count, memory, disk and log rate.

The instance count acts at once (the runner starts or stops instances to match). Memory, disk
and log rate apply to instances started from now on: like Cloud Controller, scaling them keeps
the process version, and the cf CLI restarts the app afterwards.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.audit import actor_of, app_target, record_event
from ladle.actions.desired_state import Notify, commit_desired_state
from ladle.actions.process_rules import check_process
from ladle.actions.process_update import process_event_data, refuse_while_deploying
from ladle.auth.identity import Identity
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import App, Process
from ladle.messages.process_scale import ProcessScale

__all__ = ["scale_process"]


def scale_process(
    session: Session,
    settings: Settings,
    process: Process,
    msg: ProcessScale,
    *,
    app: App,
    organization_guid: str,
    identity: Identity,
    notify: Notify,
) -> Process:
    refuse_while_deploying(session, process, "scale")
    if msg.instances is not None:
        process.instances = msg.instances
    if msg.memory_in_mb is not None:
        process.memory_in_mb = msg.memory_in_mb
    if msg.disk_in_mb is not None:
        process.disk_in_mb = msg.disk_in_mb
    if msg.log_rate_limit is not None:
        process.log_rate_limit = msg.log_rate_limit
    check_process(process, settings.max_app_disk_mb)
    process.updated_at = utcnow()
    record_event(
        session,
        "audit.app.process.scale",
        actor_of(identity),
        app_target(app, organization_guid),
        process_event_data(process, request=msg.audit_request),
    )
    commit_desired_state(session, notify)
    return process
