"""Processes an app gets: its web process at create, and one per new type of a droplet."""

from __future__ import annotations

from ladle.clock import new_guid
from ladle.config import Settings
from ladle.db.models import App, Process

__all__ = ["new_process"]


def new_process(settings: Settings, app: App, process_type: str, *, guid: str | None = None) -> Process:
    web = process_type == "web"
    return Process(
        guid=guid or new_guid(),
        app_guid=app.guid,
        type=process_type,
        instances=1 if web else 0,
        memory_in_mb=settings.default_app_memory_mb,
        disk_in_mb=settings.default_app_disk_mb,
        log_rate_limit=settings.default_app_log_rate_limit,
        health_check_type="port" if web else "process",
        readiness_health_check_type="process",
        state=app.state,
    )
