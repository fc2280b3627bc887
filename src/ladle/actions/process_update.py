"""Updating a process's command, user, health checks and metadata (``PATCH``).

As in Cloud Controller, none of this replaces running instances: the process keeps its version,
and the change reaches instances when they are next started (a restart gives a new version).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.audit import PRIVATE_DATA_HIDDEN
from ladle.actions.metadata_update import apply_metadata
from ladle.actions.process_rules import check_process
from ladle.actions.quota_checks import Footprint, check_process_quotas
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.deployments import is_deploying
from ladle.db.models import Process
from ladle.errors import CFError
from ladle.messages.process_update import HealthCheckUpdate, ProcessUpdate

__all__ = ["process_event_data", "refuse_while_deploying", "update_process"]


def refuse_while_deploying(session: Session, process: Process, verb: str) -> None:
    """A deployment owns the web process until it finishes: no scaling or updating meanwhile."""
    if process.type == "web" and is_deploying(session, process.app_guid):
        raise CFError("UnprocessableEntity", f"Cannot {verb} this process while a deployment is in flight.")


def process_event_data(process: Process, **extra: Any) -> dict[str, Any]:
    return {"process_guid": process.guid, "process_type": process.type, **extra}


def _apply_health_check(process: Process, update: HealthCheckUpdate, *, readiness: bool) -> None:
    prefix = "readiness_health_check" if readiness else "health_check"
    fields = ("invocation_timeout", "interval") if readiness else ("timeout", "invocation_timeout", "interval")
    if "type" in update.requested and update.type is not None:
        setattr(process, f"{prefix}_type", update.type)
    for name in fields:
        if name in update.requested:
            setattr(process, f"{prefix}_{name}", getattr(update, name))
    # Only an http check has an endpoint: choosing another type forgets it.
    if "type" in update.requested and update.type != "http":
        setattr(process, f"{prefix}_endpoint", None)
    elif "endpoint" in update.requested:
        setattr(process, f"{prefix}_endpoint", update.endpoint)


def update_process(
    session: Session, settings: Settings, process: Process, msg: ProcessUpdate, change: AppChange
) -> Process:
    refuse_while_deploying(session, process, "update")
    if "command" in msg.requested:
        process.command = msg.command
    if "user" in msg.requested:
        process.user = msg.user
    _apply_health_check(process, msg.health_check, readiness=False)
    _apply_health_check(process, msg.readiness_health_check, readiness=True)
    check_process(process, settings.max_app_disk_mb)
    check_process_quotas(session, process, Footprint.of(process))
    apply_metadata(session, settings, "process", process.guid, msg.metadata)
    process.updated_at = utcnow()
    request = dict(msg.audit_request)
    if "command" in request:
        request["command"] = PRIVATE_DATA_HIDDEN
    change.record(session, "audit.app.process.update", process_event_data(process, request=request))
    change.commit(session)
    return process
