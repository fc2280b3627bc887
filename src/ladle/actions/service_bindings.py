"""Binding apps to user-provided service instances, and unbinding them.

A binding takes a copy of the instance's credentials and drain URL. The app sees it in
``VCAP_SERVICES`` from its next staging or start, as on Cloud Foundry: running instances keep
the environment they were started with.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.audit import Actor, Target, record_event
from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.config import Settings
from ladle.db.models import App, ServiceBinding, ServiceInstance
from ladle.db.permissions import SpaceRef
from ladle.errors import CFError
from ladle.messages.metadata import MetadataUpdate

__all__ = ["add_binding", "create_binding", "delete_binding", "delete_binding_rows"]

EVENT = "audit.service_binding"


def _target(binding: ServiceBinding, ref: SpaceRef) -> Target:
    return Target(binding.guid, "service_binding", binding.name or "", ref.space_guid, ref.org_guid)


def add_binding(
    session: Session,
    settings: Settings,
    instance: ServiceInstance,
    app: App,
    ref: SpaceRef,
    *,
    actor: Actor | None,
    name: str | None = None,
    parameters: dict[str, object] | None = None,
    metadata: MetadataUpdate | None = None,
    manifest_triggered: bool = False,
) -> ServiceBinding:
    """Add the binding (Cloud Controller's checks in its order) and its event; the caller commits."""
    if parameters:
        raise CFError("UnprocessableEntity", "Binding parameters are not supported for user-provided service instances")
    if instance.space_guid != app.space_guid:
        raise CFError("UnprocessableEntity", "The service instance and the app are in different spaces")
    existing = session.scalars(
        select(ServiceBinding).where(
            ServiceBinding.app_guid == app.guid, ServiceBinding.service_instance_guid == instance.guid
        )
    ).first()
    if existing is not None:
        raise CFError("UnprocessableEntity", "The app is already bound to the service instance")
    if name:
        same_name = session.scalar(
            select(ServiceBinding.id).where(ServiceBinding.app_guid == app.guid, ServiceBinding.name == name)
        )
        if same_name is not None:
            raise CFError(
                "UnprocessableEntity",
                "The binding name is invalid. Binding names must be unique for a given service instance and app. "
                f"The app already has a binding with name '{name}'.",
            )
    binding = ServiceBinding(
        name=name,
        type="app",
        app_guid=app.guid,
        service_instance_guid=instance.guid,
        credentials=dict(instance.credentials or {}),
        syslog_drain_url=instance.syslog_drain_url,
    )
    try:
        with session.begin_nested():
            session.add(binding)
            session.flush()
    except IntegrityError:
        raise CFError("UnprocessableEntity", "The app is already bound to the service instance") from None
    apply_metadata(session, settings, "service_credential_binding", binding.guid, metadata)
    request: dict[str, object] = {
        "type": "app",
        "name": name,
        "relationships": {
            "service_instance": {"data": {"guid": instance.guid}},
            "app": {"data": {"guid": app.guid}},
        },
    }
    data: dict[str, object] = {"request": request}
    if manifest_triggered:
        data["manifest_triggered"] = True
    record_event(session, f"{EVENT}.create", actor, _target(binding, ref), data)
    return binding


def create_binding(
    session: Session,
    settings: Settings,
    instance: ServiceInstance,
    app: App,
    ref: SpaceRef,
    *,
    actor: Actor,
    name: str | None,
    parameters: dict[str, object] | None,
    metadata: MetadataUpdate | None,
) -> ServiceBinding:
    binding = add_binding(
        session, settings, instance, app, ref, actor=actor, name=name, parameters=parameters, metadata=metadata
    )
    session.commit()
    return binding


def delete_binding_rows(
    session: Session, bindings: list[ServiceBinding], instance: ServiceInstance, ref: SpaceRef, actor: Actor | None
) -> None:
    """Delete bindings of one instance with their events; the caller commits."""
    for binding in bindings:
        data = {"request": {"app_guid": binding.app_guid, "route_guid": None, "service_instance_guid": instance.guid}}
        record_event(session, f"{EVENT}.delete", actor, _target(binding, ref), data)
        delete_metadata(session, "service_credential_binding", [binding.guid])
        session.delete(binding)
    session.flush()


def delete_binding(
    session: Session, binding: ServiceBinding, instance: ServiceInstance, ref: SpaceRef, actor: Actor
) -> None:
    delete_binding_rows(session, [binding], instance, ref, actor)
    session.commit()
