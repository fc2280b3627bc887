"""Service credential binding JSON (type ``app``) and its ``details``."""

from __future__ import annotations

from typing import Any

from ladle.clock import format_timestamp
from ladle.db.metadata import Metadata
from ladle.db.models import ServiceBinding
from ladle.urls import Urls, link

__all__ = ["present_binding", "present_binding_details"]


def present_binding(binding: ServiceBinding, metadata: Metadata, urls: Urls) -> dict[str, Any]:
    self_href = urls.v3("service_credential_bindings", binding.guid)
    created = format_timestamp(binding.created_at)
    return {
        "guid": binding.guid,
        "created_at": created,
        "updated_at": format_timestamp(binding.updated_at),
        "name": binding.name,
        "type": binding.type,
        # User-provided bindings are made synchronously: their one operation is the create.
        "last_operation": {
            "type": "create",
            "state": "succeeded",
            "description": "",
            "updated_at": created,
            "created_at": created,
        },
        "metadata": metadata.to_dict(),
        "relationships": {
            "service_instance": {"data": {"guid": binding.service_instance_guid}},
            "app": {"data": {"guid": binding.app_guid}},
        },
        "links": {
            "self": link(self_href),
            "details": link(f"{self_href}/details"),
            "service_instance": link(urls.v3("service_instances", binding.service_instance_guid)),
            "app": link(urls.v3("apps", binding.app_guid)),
        },
    }


def present_binding_details(binding: ServiceBinding) -> dict[str, Any]:
    out: dict[str, Any] = {"credentials": binding.credentials or {}}
    if binding.syslog_drain_url is not None:
        out["syslog_drain_url"] = binding.syslog_drain_url
    return out
