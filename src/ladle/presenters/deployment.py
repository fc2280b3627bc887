"""Deployment JSON."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import Deployment
from ladle.urls import Urls, link

__all__ = ["present_deployment"]


def _options(deployment: Deployment) -> dict[str, Any]:
    options: dict[str, Any] = {"max_in_flight": deployment.max_in_flight}
    given = {
        "web_instances": deployment.web_instances,
        "memory_in_mb": deployment.memory_in_mb,
        "disk_in_mb": deployment.disk_in_mb,
        "log_rate_limit_in_bytes_per_second": deployment.log_rate_limit,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    return options


def present_deployment(deployment: Deployment, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    g = deployment.guid
    links: dict[str, Any] = {"self": link(urls.v3("deployments", g)), "app": link(urls.v3("apps", deployment.app_guid))}
    if deployment.status_value == "ACTIVE":
        links["cancel"] = link(urls.v3("deployments", g, "actions", "cancel"), "POST")
    # Cloud Controller lists the process it cloned for the rollout; Ladle rolls the web process
    # itself onto a new version. A stopped app's deployment rolls nothing and lists none.
    new_processes = [{"guid": deployment.process_guid, "type": "web"}] if deployment.process_guid else []
    return {
        "guid": g,
        "created_at": format_timestamp(deployment.created_at),
        "updated_at": format_timestamp(deployment.updated_at),
        "status": {
            "value": deployment.status_value,
            "reason": deployment.status_reason,
            "details": {
                "last_successful_healthcheck": format_timestamp(deployment.last_healthy_at),
                "last_status_change": format_timestamp(deployment.status_changed_at),
            },
        },
        "strategy": deployment.strategy,
        "options": _options(deployment),
        "droplet": {"guid": deployment.droplet_guid},
        "previous_droplet": {"guid": deployment.previous_droplet_guid},
        "new_processes": new_processes,
        "revision": None,
        "relationships": {"app": {"data": {"guid": deployment.app_guid}}},
        "metadata": metadata.to_dict(),
        "links": links,
    }
