"""Creating, changing and deleting user-provided service instances.

Changing an instance's credentials or drain URL rewrites them in its bindings too (Cloud
Controller copies them into each binding when it is made), so a restart shows the new ones.
Events are ``audit.user_provided_service_instance.*`` with the credentials redacted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, Target, record_event
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.actions.service_bindings import delete_binding_rows
from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import ServiceBinding, ServiceInstance
from ladle.db.permissions import SpaceRef
from ladle.errors import CFError
from ladle.messages.service_instance import ServiceInstanceCreate, ServiceInstanceUpdate

__all__ = ["create_instance", "delete_instance", "record_credentials_read", "update_instance"]

EVENT = "audit.user_provided_service_instance"


def _target(instance: ServiceInstance, ref: SpaceRef) -> Target:
    return Target(instance.guid, "user_provided_service_instance", instance.name, ref.space_guid, ref.org_guid)


def _name_taken(name: str) -> CFError:
    return CFError("UnprocessableEntity", f"The service instance name is taken: {name}.")


def create_instance(
    session: Session, settings: Settings, msg: ServiceInstanceCreate, ref: SpaceRef, actor: Actor
) -> ServiceInstance:
    now = utcnow()
    instance = ServiceInstance(
        name=msg.name,
        type="user-provided",
        space_guid=ref.space_guid,
        credentials=msg.credentials,
        tags=msg.tags,
        syslog_drain_url=msg.syslog_drain_url,
        route_service_url=msg.route_service_url,
        last_operation_type="create",
        last_operation_at=now,
    )
    try:
        with session.begin_nested():
            session.add(instance)
            session.flush()
    except IntegrityError:
        raise _name_taken(msg.name) from None
    apply_metadata(session, settings, "service_instance", instance.guid, msg.metadata)
    record_event(session, f"{EVENT}.create", actor, _target(instance, ref), {"request": msg.audit_request})
    session.commit()
    return instance


def update_instance(
    session: Session,
    settings: Settings,
    instance: ServiceInstance,
    msg: ServiceInstanceUpdate,
    ref: SpaceRef,
    *,
    actor: Actor,
) -> ServiceInstance:
    changes: dict[str, Any] = msg.changes
    try:
        with session.begin_nested():
            for key, value in changes.items():
                setattr(instance, key, value)
            session.flush()
    except IntegrityError:
        raise _name_taken(str(changes.get("name"))) from None
    if "credentials" in changes or "syslog_drain_url" in changes:
        for binding in session.scalars(
            select(ServiceBinding).where(ServiceBinding.service_instance_guid == instance.guid)
        ):
            binding.credentials = dict(instance.credentials or {})
            binding.syslog_drain_url = instance.syslog_drain_url
    apply_metadata(session, settings, "service_instance", instance.guid, msg.metadata)
    now = utcnow()
    instance.updated_at = now
    instance.last_operation_type = "update"
    instance.last_operation_at = now
    record_event(session, f"{EVENT}.update", actor, _target(instance, ref), {"request": msg.audit_request})
    session.commit()
    return instance


def delete_instance(session: Session, instance: ServiceInstance, ref: SpaceRef, actor: Actor) -> None:
    """A user-provided instance is deleted at once, unbinding it from its apps first."""
    bindings = list(
        session.scalars(select(ServiceBinding).where(ServiceBinding.service_instance_guid == instance.guid))
    )
    delete_binding_rows(session, bindings, instance, ref, actor)
    delete_metadata(session, "service_instance", [instance.guid])
    record_event(session, f"{EVENT}.delete", actor, _target(instance, ref), {"request": {}})
    session.delete(instance)
    session.commit()


def record_credentials_read(session: Session, instance: ServiceInstance, ref: SpaceRef, actor: Actor) -> None:
    """Reading the credentials is audited (``...show``), as Cloud Controller does."""
    record_event(session, f"{EVENT}.show", actor, _target(instance, ref), {"request": {}})
    session.commit()
