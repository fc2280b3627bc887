"""Scaling a process: instance count, memory, disk and log rate.

The instance count acts at once (the runner starts or stops instances to match). Memory, disk
and log rate apply to instances started from now on: like Cloud Controller, scaling them keeps
the process version, and the cf CLI restarts the app afterwards.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ladle.actions.app_change import AppChange
from ladle.actions.process_rules import check_process
from ladle.actions.process_update import process_event_data, refuse_while_deploying
from ladle.actions.quota_checks import Footprint, check_process_quotas
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import Process
from ladle.messages.process_scale import ProcessScale

__all__ = ["apply_scale", "scale_process"]


def apply_scale(process: Process, scale: ProcessScale, max_disk_mb: int) -> None:
    """Set what the scale names (deployments scale their web process with this too)."""
    if scale.instances is not None:
        process.instances = scale.instances
    if scale.memory_in_mb is not None:
        process.memory_in_mb = scale.memory_in_mb
    if scale.disk_in_mb is not None:
        process.disk_in_mb = scale.disk_in_mb
    if scale.log_rate_limit is not None:
        process.log_rate_limit = scale.log_rate_limit
    check_process(process, max_disk_mb)
    process.updated_at = utcnow()


def scale_process(
    session: Session, settings: Settings, process: Process, msg: ProcessScale, change: AppChange
) -> Process:
    refuse_while_deploying(session, process, "scale")
    before = Footprint.of(process)
    apply_scale(process, msg, settings.max_app_disk_mb)
    check_process_quotas(session, process, before)
    change.record(session, "audit.app.process.scale", process_event_data(process, request=msg.audit_request))
    change.commit(session)
    return process
