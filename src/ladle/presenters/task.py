"""Task JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Droplet, Task
from ladle.db.processes import image_user
from ladle.urls import Urls, link

__all__ = ["present_task", "task_user"]


def task_user(task: Task, droplet: Droplet | None) -> str | None:
    """The user the task runs as: its own, else what its droplet's lifecycle runs as."""
    if task.user or droplet is None:
        return task.user
    if droplet.lifecycle_type == "docker":
        return image_user(droplet.execution_metadata) or "vcap"
    return "root" if droplet.lifecycle_type == "cnb" else "vcap"


def present_task(
    task: Task, droplet: Droplet | None, metadata: Metadata, urls: Urls, *, show_command: bool
) -> dict[str, Any]:
    """``show_command``: False for callers who may not see secrets; the key is then absent."""
    g = task.guid
    body: dict[str, Any] = {
        "guid": g,
        "created_at": format_timestamp(task.created_at),
        "updated_at": format_timestamp(task.updated_at),
        "sequence_id": task.sequence_id,
        "name": task.name,
        "command": task.command,
        "user": task_user(task, droplet),
        "state": task.state,
        "memory_in_mb": task.memory_in_mb,
        "disk_in_mb": task.disk_in_mb,
        "log_rate_limit_in_bytes_per_second": task.log_rate_limit,
        "result": {"failure_reason": task.failure_reason},
        "droplet_guid": task.droplet_guid,
        "relationships": {"app": {"data": {"guid": task.app_guid}}},
        "metadata": metadata.to_dict(),
        "links": {
            "self": link(urls.v3("tasks", g)),
            "app": link(urls.v3("apps", task.app_guid)),
            "cancel": link(urls.v3("tasks", g, "actions", "cancel"), "POST"),
            "droplet": link(urls.v3("droplets", task.droplet_guid)),
        },
    }
    if not show_command:
        del body["command"]
    return body
