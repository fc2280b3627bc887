"""Process JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Process
from ladle.presenters.redaction import Redaction, redact
from ladle.urls import Urls, link

__all__ = ["present_process", "with_process_instances"]


def _health_data(type_: str, endpoint: str | None, **values: int | None) -> dict[str, Any]:
    data: dict[str, Any] = dict(values)
    if type_ == "http":
        data["endpoint"] = endpoint
    return data


def present_process(
    process: Process,
    metadata: Metadata,
    urls: Urls,
    *,
    space_guid: str,
    detected_command: str | None,
    redaction: Redaction,
    user: str,
) -> dict[str, Any]:
    g = process.guid
    command = process.command if process.command is not None else (detected_command or "")
    return {
        "guid": g,
        "created_at": format_timestamp(process.created_at),
        "updated_at": format_timestamp(process.updated_at),
        "version": process.version,
        "type": process.type,
        "command": redact(command, redaction),
        "user": process.user or user,
        "instances": process.instances,
        "memory_in_mb": process.memory_in_mb,
        "disk_in_mb": process.disk_in_mb,
        "log_rate_limit_in_bytes_per_second": process.log_rate_limit,
        "health_check": {
            "type": process.health_check_type,
            "data": _health_data(
                process.health_check_type,
                process.health_check_endpoint,
                timeout=process.health_check_timeout,
                invocation_timeout=process.health_check_invocation_timeout,
                interval=process.health_check_interval,
            ),
        },
        "readiness_health_check": {
            "type": process.readiness_health_check_type,
            "data": _health_data(
                process.readiness_health_check_type,
                process.readiness_health_check_endpoint,
                invocation_timeout=process.readiness_health_check_invocation_timeout,
                interval=process.readiness_health_check_interval,
            ),
        },
        "relationships": {"app": {"data": {"guid": process.app_guid}}, "revision": None},
        "metadata": metadata.to_dict(),
        "links": {
            "self": link(urls.v3("processes", g)),
            "scale": link(urls.v3("processes", g, "actions", "scale"), "POST"),
            "app": link(urls.v3("apps", process.app_guid)),
            "space": link(urls.v3("spaces", space_guid)),
            "stats": link(urls.v3("processes", g, "stats")),
            "process_instances": link(urls.v3("processes", g, "process_instances")),
        },
    }


def with_process_instances(body: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``?embed=process_instances``: the entries go in just before ``relationships``."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "relationships":
            out["process_instances"] = entries
        out[key] = value
    return out
