"""Queries over service instances and their bindings, and what bound apps see of them.

``vcap_services`` builds ``VCAP_SERVICES`` as Cloud Controller's system environment presenter
does: one list per service label (``user-provided`` for every user-provided instance), each
binding's own keys first, then the instance's ``label`` and ``tags``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.apps import readable
from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, EnvironmentVariableGroup, ServiceBinding, ServiceInstance, Space
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = [
    "ENV_GROUP_NAMES",
    "bindings_page",
    "env_group_vars",
    "instances_page",
    "space_bindings",
    "space_instances",
    "vcap_services",
    "vcap_services_by_app",
]

ENV_GROUP_NAMES = ("running", "staging")
USER_PROVIDED_LABEL = "user-provided"
# Filters on plans and offerings: user-provided instances have none, so they match nothing.
PLAN_FILTERS = ("service_plan_names", "service_plan_guids", "service_offering_names", "service_offering_guids")


def instances_page(session: Session, perms: Permissions, params: ListParams) -> Page[ServiceInstance]:
    stmt = readable(select(ServiceInstance), perms, ServiceInstance.space_guid)
    stmt = filter_common(stmt, ServiceInstance, params, "service_instance")
    arrays = params.arrays
    if "names" in arrays:
        stmt = stmt.where(ServiceInstance.name.in_(arrays["names"]))
    if "space_guids" in arrays:
        stmt = stmt.where(ServiceInstance.space_guid.in_(arrays["space_guids"]))
    if "organization_guids" in arrays:
        spaces = select(Space.guid).where(Space.organization_guid.in_(arrays["organization_guids"]))
        stmt = stmt.where(ServiceInstance.space_guid.in_(spaces))
    if "service_plan_guids" in arrays or "service_plan_names" in arrays:
        # User-provided instances have no plan, so no plan filter matches one.
        stmt = stmt.where(ServiceInstance.type == "managed")
    if "type" in params.scalars:
        stmt = stmt.where(ServiceInstance.type == params.scalars["type"])
    return paginate(session, stmt, ServiceInstance, params)


def bindings_page(session: Session, perms: Permissions, params: ListParams) -> Page[ServiceBinding]:
    stmt = readable(
        select(ServiceBinding).join(ServiceInstance, ServiceInstance.guid == ServiceBinding.service_instance_guid),
        perms,
        ServiceInstance.space_guid,
    )
    stmt = filter_common(stmt, ServiceBinding, params, "service_credential_binding")
    arrays = params.arrays
    if "names" in arrays:
        stmt = stmt.where(ServiceBinding.name.in_(arrays["names"]))
    if "service_instance_guids" in arrays:
        stmt = stmt.where(ServiceBinding.service_instance_guid.in_(arrays["service_instance_guids"]))
    if "service_instance_names" in arrays:
        stmt = stmt.where(ServiceInstance.name.in_(arrays["service_instance_names"]))
    if "app_guids" in arrays:
        stmt = stmt.where(ServiceBinding.app_guid.in_(arrays["app_guids"]))
    if "app_names" in arrays:
        stmt = stmt.where(ServiceBinding.app_guid.in_(select(App.guid).where(App.name.in_(arrays["app_names"]))))
    if any(k in arrays for k in PLAN_FILTERS):
        stmt = stmt.where(ServiceInstance.type == "managed")
    if "type" in params.scalars:
        stmt = stmt.where(ServiceBinding.type == params.scalars["type"])
    return paginate(session, stmt, ServiceBinding, params)


def _binding_entry(binding: ServiceBinding, instance: ServiceInstance) -> dict[str, Any]:
    return {
        "name": binding.name or instance.name,
        "instance_guid": instance.guid,
        "instance_name": instance.name,
        "binding_guid": binding.guid,
        "binding_name": binding.name,
        "credentials": binding.credentials or {},
        "syslog_drain_url": binding.syslog_drain_url,
        "volume_mounts": [],
        "label": USER_PROVIDED_LABEL,
        "tags": list(instance.tags or []),
    }


def vcap_services_by_app(session: Session, app_guids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``VCAP_SERVICES`` of each app (an app without bindings gets ``{}``)."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {guid: {} for guid in app_guids}
    if not app_guids:
        return out
    rows = session.execute(
        select(ServiceBinding, ServiceInstance)
        .join(ServiceInstance, ServiceInstance.guid == ServiceBinding.service_instance_guid)
        .where(ServiceBinding.app_guid.in_(app_guids))
        .order_by(ServiceBinding.id)
    ).all()
    for binding, instance in rows:
        out[binding.app_guid].setdefault(USER_PROVIDED_LABEL, []).append(_binding_entry(binding, instance))
    return out


def vcap_services(session: Session, app_guid: str) -> dict[str, list[dict[str, Any]]]:
    return vcap_services_by_app(session, [app_guid])[app_guid]


def env_group_vars(session: Session, name: str) -> dict[str, Any]:
    """The variables of the ``running`` or ``staging`` group (empty until an admin sets one)."""
    row = session.get(EnvironmentVariableGroup, name)
    return dict(row.environment_json or {}) if row is not None else {}


def space_instances(session: Session, space_guid: str, name: str | None = None) -> list[ServiceInstance]:
    stmt = select(ServiceInstance).where(ServiceInstance.space_guid == space_guid)
    if name is not None:
        stmt = stmt.where(ServiceInstance.name == name)
    return list(session.scalars(stmt.order_by(ServiceInstance.id)))


def space_bindings(session: Session, space_guid: str) -> list[ServiceBinding]:
    return list(
        session.scalars(
            select(ServiceBinding)
            .join(ServiceInstance, ServiceInstance.guid == ServiceBinding.service_instance_guid)
            .where(ServiceInstance.space_guid == space_guid)
            .order_by(ServiceBinding.id)
        )
    )
