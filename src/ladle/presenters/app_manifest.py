"""An app as a manifest (``GET /v3/apps/:guid/manifest``), in Cloud Controller's key order.

Empty and unset keys are left out, so applying the result to a new space makes the same app.
"""

from __future__ import annotations

from typing import Any

import yaml

from ladle.db.app_manifest import ManifestParts
from ladle.db.models import App, Process
from ladle.presenters.route import route_url

__all__ = ["app_manifest_entry", "manifest_yaml"]


def _mb(value: int) -> str:
    return f"{value}M"


def _log_rate(value: int) -> str | int:
    if value < 0:
        return -1
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}B"


def _process_entry(process: Process) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": process.type, "instances": process.instances}
    if process.command:
        entry["command"] = process.command
    if process.user:
        entry["user"] = process.user
    entry["memory"] = _mb(process.memory_in_mb)
    entry["disk_quota"] = _mb(process.disk_in_mb)
    entry["log-rate-limit-per-second"] = _log_rate(process.log_rate_limit)
    entry["health-check-type"] = process.health_check_type
    if process.health_check_type == "http" and process.health_check_endpoint:
        entry["health-check-http-endpoint"] = process.health_check_endpoint
    if process.health_check_invocation_timeout:
        entry["health-check-invocation-timeout"] = process.health_check_invocation_timeout
    if process.health_check_interval:
        entry["health-check-interval"] = process.health_check_interval
    if process.health_check_timeout:
        entry["timeout"] = process.health_check_timeout
    entry["readiness-health-check-type"] = process.readiness_health_check_type
    if process.readiness_health_check_type == "http" and process.readiness_health_check_endpoint:
        entry["readiness-health-check-http-endpoint"] = process.readiness_health_check_endpoint
    return entry


def app_manifest_entry(app: App, parts: ManifestParts) -> dict[str, Any]:
    """One ``applications`` entry."""
    processes, metadata = parts.processes, parts.metadata
    docker_image, docker_username = parts.docker_image, parts.docker_username
    route_urls = sorted({(route_url(route, domain), protocol or "http1") for route, domain, protocol in parts.routes})
    entry: dict[str, Any] = {"name": app.name}
    if app.environment_variables:
        entry["env"] = dict(app.environment_variables)
    if app.lifecycle_type == "docker":
        docker: dict[str, Any] = {"image": docker_image} if docker_image else {}
        if docker_username:
            docker["username"] = docker_username
        if docker:
            entry["docker"] = docker
    else:
        entry["lifecycle"] = app.lifecycle_type
        if app.buildpacks:
            entry["buildpacks"] = list(app.buildpacks)
        if app.stack:
            entry["stack"] = app.stack
    if parts.service_names:
        entry["services"] = sorted(parts.service_names, key=str.lower)
    if route_urls:
        entry["routes"] = [{"route": url, "protocol": protocol, "options": {}} for url, protocol in sorted(route_urls)]
    meta = metadata.to_dict()
    if meta["labels"] or meta["annotations"]:
        entry["metadata"] = {k: v for k, v in meta.items() if v}
    entry["processes"] = [_process_entry(p) for p in sorted(processes, key=lambda p: p.type)]
    return entry


def manifest_yaml(entries: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"applications": entries}, sort_keys=False, default_flow_style=False)
