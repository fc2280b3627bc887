"""Process stats (``GET /v3/processes/:guid/stats``) and process instances, from reported rows.

One entry per desired index: the reported instance there, else DOWN. Quotas and usage come
from the runner's last metrics; an instance with none yet shows null quotas and ``usage: {}``,
and the response carries Cloud Controller's "Stats server temporarily unavailable." warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ladle.db.instances import IndexedInstances
from ladle.db.models import Instance, Process
from ladle.urls import Urls, link

__all__ = [
    "STATS_UNAVAILABLE",
    "ProcessStats",
    "present_process_instances",
    "present_stats",
    "process_instance_entries",
]

STATS_UNAVAILABLE = "Stats server temporarily unavailable."
# Cloud Controller's ``instance_file_descriptor_limit`` default, shown when a runner reports none.
DEFAULT_FDS_QUOTA = 16384


@dataclass
class ProcessStats:
    resources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _uptime(instance: Instance, now: datetime) -> int:
    return max(0, int((now - instance.since).total_seconds()))


def _down(process: Process, index: int, instance: Instance | None, now: datetime) -> dict[str, Any]:
    # Exactly the seven keys Cloud Controller gives an index with nothing running.
    return {
        "type": process.type,
        "index": index,
        "state": "DOWN",
        "routable": instance.routable if instance else None,
        "uptime": _uptime(instance, now) if instance else 0,
        "isolation_segment": None,
        "details": instance.details if instance else None,
    }


def _ports(instance: Instance) -> list[dict[str, Any]]:
    if instance.port is None and instance.internal_port is None:
        return []
    return [
        {
            "external": instance.port,
            "internal": instance.internal_port,
            "external_tls_proxy_port": None,
            "internal_tls_proxy_port": None,
        }
    ]


def _usage(instance: Instance, now: datetime) -> dict[str, Any]:
    usage = instance.usage or {}
    entitlement = usage.get("cpu_entitlement")
    return {
        "time": usage.get("time") or now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "cpu": float(usage.get("cpu") or 0),
        "cpu_entitlement": None if entitlement is None else float(entitlement),
        "mem": int(usage.get("mem") or 0),
        "disk": int(usage.get("disk") or 0),
        "log_rate": int(usage.get("log_rate") or 0),
    }


def _found(process: Process, index: int, instance: Instance, now: datetime) -> dict[str, Any]:
    measured = bool(instance.usage)
    return {
        "type": process.type,
        "index": index,
        "instance_guid": instance.guid,
        "state": instance.state,
        "routable": instance.routable,
        "host": instance.host,
        "instance_internal_ip": instance.internal_ip,
        "uptime": _uptime(instance, now),
        "mem_quota": instance.mem_quota if measured else None,
        "disk_quota": instance.disk_quota if measured else None,
        "log_rate_limit": instance.log_rate_limit if measured else None,
        "fds_quota": instance.fds_quota if instance.fds_quota is not None else DEFAULT_FDS_QUOTA,
        "isolation_segment": None,
        "details": instance.details,
        "instance_ports": _ports(instance),
        "usage": _usage(instance, now) if measured else {},
    }


def present_stats(process: Process, instances: IndexedInstances, now: datetime) -> ProcessStats:
    """Entries for indexes ``0 .. instances-1``; reported instances beyond that are not shown."""
    stats = ProcessStats()
    for index in range(process.instances):
        instance = instances.get(index)
        # A stopped process shows every index DOWN, whatever its instances are still doing.
        if instance is None or process.state != "STARTED" or instance.state == "DOWN":
            stats.resources.append(_down(process, index, instance, now))
            continue
        stats.resources.append(_found(process, index, instance, now))
        if not instance.usage and STATS_UNAVAILABLE not in stats.warnings:
            stats.warnings.append(STATS_UNAVAILABLE)
    return stats


def process_instance_entries(process: Process, instances: IndexedInstances, now: datetime) -> list[dict[str, Any]]:
    """``{index, state, since}`` per index, ``since`` being seconds since the state began.

    Cloud Controller fills up to the larger of the desired count and the number of indexes
    reported, so extra instances stay visible here (unlike stats).
    """
    entries = []
    for index in range(max(process.instances, len(instances))):
        instance = instances.get(index)
        if instance is None or process.state != "STARTED":
            entries.append({"index": index, "state": "DOWN", "since": None})
        else:
            entries.append({"index": index, "state": instance.state, "since": _uptime(instance, now)})
    return entries


def present_process_instances(
    process: Process, instances: IndexedInstances, now: datetime, urls: Urls
) -> dict[str, Any]:
    return {
        "resources": process_instance_entries(process, instances, now),
        "links": {
            "self": link(urls.v3("processes", process.guid, "process_instances")),
            "process": link(urls.v3("processes", process.guid)),
        },
    }
