"""Applying a manifest: the apps it names exist before the reply, the rest happens in a job.

As in Cloud Controller, the request creates the apps a manifest names that do not exist yet (so
``cf push`` can look them up as soon as the 202 comes back) and records one
``audit.app.apply_manifest`` event per app; the ``space.apply_manifest`` job then applies each
app in order (processes and scales, app settings, routes, environment, metadata) and stops at
the first failure, which it reports as ``For application '<name>': <message>``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ladle.actions.app_create import check_lifecycle_flags, unique_name_error
from ladle.actions.audit import PRIVATE_DATA_HIDDEN, Actor, Target, record_event
from ladle.actions.jobs import add_job, start_job
from ladle.actions.metadata_update import apply_metadata
from ladle.actions.processes import new_process
from ladle.actions.quota_checks import Footprint, check_process_quotas
from ladle.actions.routes import add_destinations, create_route
from ladle.actions.service_bindings import add_binding
from ladle.auth.identity import Identity
from ladle.clock import new_guid, utcnow
from ladle.config import Settings
from ladle.db.lifecycle import stack_exists
from ladle.db.models import (
    App,
    Domain,
    Job,
    Organization,
    Process,
    Route,
    RouteDestination,
    ServiceBinding,
    ServiceInstance,
    Space,
)
from ladle.db.permissions import SpaceRef
from ladle.db.routes import default_domain, domain_named, route_with_identity
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.manifest import AppManifest, ProcessManifest, RouteManifest, parse_manifest
from ladle.messages.route import DestinationSpec, RouteChange

__all__ = ["prepare_apply", "run_apply_manifest"]

_HOST = re.compile(r"\A[\w-]+\Z", re.ASCII)
_ADJECTIVES = (
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively", "merry",
    "nimble", "proud", "quiet", "rapid", "shiny", "sunny", "tidy", "witty", "zesty", "bold",
)  # fmt: skip
_NOUNS = (
    "badger", "comet", "dolphin", "falcon", "gecko", "heron", "ibis", "jaguar", "koala", "lynx",
    "marmot", "narwhal", "otter", "panda", "quokka", "raven", "salmon", "tapir", "walrus", "yak",
)  # fmt: skip
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _conflict(app: App, manifest: AppManifest) -> str | None:
    raw_keys = {k.replace("-", "_") for k in manifest.raw}
    if app.lifecycle_type == "docker" and ("buildpack" in raw_keys or "buildpacks" in raw_keys):
        key = "Buildpacks" if "buildpacks" in raw_keys else "Buildpack"
        return f"{key} cannot be configured for a docker lifecycle app."
    if app.lifecycle_type != "docker" and manifest.lifecycle == "docker":
        return "Docker cannot be configured for a buildpack lifecycle app."
    return None


def _find_app(session: Session, space: Space, name: str) -> App | None:
    return session.scalars(
        select(App).where(App.space_guid == space.guid, func.lower(App.name) == name.lower())
    ).first()


def _hidden_env(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (PRIVATE_DATA_HIDDEN if k == "env" else v) for k, v in raw.items()}


def prepare_apply(
    session: Session,
    settings: Settings,
    space: Space,
    org: Organization,
    *,
    body: bytes,
    identity: Identity,
    executor: Executor,
) -> Job:
    """Validate, create missing apps, record the events, commit, and start the job."""
    manifests = parse_manifest(body)
    actor = Actor(identity.user_guid, "user", identity.email or "")
    problems: list[str] = []
    for manifest in manifests:
        app = _find_app(session, space, manifest.name)
        if app is not None and (conflict := _conflict(app, manifest)):
            problems.append(f"For application '{manifest.name}': {conflict}")
    if problems:
        raise CFError("UnprocessableEntity", problems[0])
    for manifest in manifests:
        app = _find_app(session, space, manifest.name)
        if app is None:
            app = _create_skeleton(session, settings, space, manifest, identity)
            record_event(session, "audit.app.create", actor, _target(app, org), {"request": {"name": app.name}})
        manifest_yaml = yaml.safe_dump({"applications": [_hidden_env(manifest.raw)]}, sort_keys=False)
        record_event(
            session, "audit.app.apply_manifest", actor, _target(app, org), {"request": {"manifest": manifest_yaml}}
        )
    job = add_job(
        session,
        "space.apply_manifest",
        resource_type="space",
        resource_guid=space.guid,
        user_guid=identity.user_guid,
        payload={"manifest": body.decode("utf-8"), "actor": [actor.guid, actor.type, actor.name]},
    )
    return start_job(session, executor, job)


def _target(app: App, org: Organization) -> Target:
    return Target(app.guid, "app", app.name, app.space_guid, org.guid)


def _create_skeleton(
    session: Session, settings: Settings, space: Space, manifest: AppManifest, identity: Identity
) -> App:
    lifecycle = "docker" if manifest.lifecycle == "docker" else "buildpack"
    check_lifecycle_flags(session, lifecycle, identity)
    stack = None
    if lifecycle == "buildpack":
        stack = manifest.stack or settings.default_stack
        if not stack_exists(session, stack):
            raise CFError("UnprocessableEntity", f"For application '{manifest.name}': Stack must be an existing stack")
    app = App(
        guid=new_guid(),
        name=manifest.name,
        space_guid=space.guid,
        state="STOPPED",
        lifecycle_type=lifecycle,
        buildpacks=list(manifest.buildpacks or []) if lifecycle == "buildpack" else [],
        stack=stack,
        environment_variables={},
    )
    session.add(app)
    session.add(new_process(settings, app, "web", guid=app.guid))
    try:
        with session.begin_nested():
            session.flush()
    except Exception:
        raise unique_name_error(manifest.name) from None
    return app


# --- the job ------------------------------------------------------------------------------------


def run_apply_manifest(ctx: JobContext) -> None:
    manifests = parse_manifest(str(ctx.payload["manifest"]).encode("utf-8"))
    who = ctx.payload.get("actor")
    actor = Actor(str(who[0]), str(who[1]), str(who[2])) if who else None
    for manifest in manifests:
        with ctx.db.session() as s:
            space = s.scalars(select(Space).where(Space.guid == ctx.resource_guid)).one()
            org = s.scalars(select(Organization).where(Organization.guid == space.organization_guid)).one()
            app = _find_app(s, space, manifest.name)
            if app is None:
                raise CFError("ResourceNotFound", f"For application '{manifest.name}': App not found")
            try:
                _apply_app(s, _Where(ctx.settings, space, org, actor), app, manifest)
            except CFError as exc:
                s.rollback()
                prefix = f"For application '{manifest.name}': "
                detail = exc.detail if exc.detail.startswith(prefix) else prefix + exc.detail
                raise CFError(exc.name if exc.name == "ResourceNotFound" else "UnprocessableEntity", detail) from None
            s.commit()


@dataclass(frozen=True)
class _Where:
    """What every step of applying one app needs besides the app and its manifest."""

    settings: Settings
    space: Space
    org: Organization
    actor: Actor | None


def _apply_app(session: Session, where: _Where, app: App, manifest: AppManifest) -> None:
    for process in manifest.processes:
        _apply_process(session, where.settings, app, process)
    _apply_app_settings(session, app, manifest)
    _apply_routes(session, where, app, manifest)
    if manifest.env:
        app.environment_variables = {**(app.environment_variables or {}), **manifest.env}
    _apply_services(session, where, app, manifest)
    apply_metadata(session, where.settings, "app", app.guid, manifest.metadata)
    app.updated_at = utcnow()
    record_event(
        session,
        "audit.app.update",
        where.actor,
        _target(app, where.org),
        {"request": _hidden_env(manifest.raw), "manifest_triggered": True},
    )


def _apply_services(session: Session, where: _Where, app: App, manifest: AppManifest) -> None:
    """Bind the instances the manifest names; bindings that exist stay as they are."""
    ref = SpaceRef(where.space.guid, where.org.guid, where.org.suspended)
    for wanted in manifest.services:
        instance = session.scalars(
            select(ServiceInstance).where(
                ServiceInstance.space_guid == where.space.guid, ServiceInstance.name == wanted.name
            )
        ).first()
        if instance is None:
            raise CFError("ResourceNotFound", f"Service instance '{wanted.name}' not found")
        bound = session.scalar(
            select(ServiceBinding.id).where(
                ServiceBinding.app_guid == app.guid, ServiceBinding.service_instance_guid == instance.guid
            )
        )
        if bound is not None:
            continue
        try:
            add_binding(
                session,
                where.settings,
                instance,
                app,
                ref,
                actor=where.actor,
                name=wanted.binding_name,
                parameters=wanted.parameters,
                manifest_triggered=True,
            )
        except CFError as exc:
            raise CFError("UnprocessableEntity", f"For service '{wanted.name}': {exc.detail}") from None


def _apply_process(session: Session, settings: Settings, app: App, manifest: ProcessManifest) -> None:
    process = session.scalars(
        select(Process).where(Process.app_guid == app.guid, Process.type == manifest.type)
    ).first()
    if process is None:
        process = new_process(settings, app, manifest.type)
        session.add(process)
    before = Footprint.of(process)
    values = manifest.values
    for key in ("command", "user", "instances", "log_rate_limit"):
        if key in values:
            setattr(process, key, values[key])
    if "memory" in values:
        process.memory_in_mb = values["memory"]
    if "disk_quota" in values:
        process.disk_in_mb = values["disk_quota"]
    for key in (
        "health_check_type",
        "health_check_endpoint",
        "health_check_invocation_timeout",
        "health_check_interval",
        "health_check_timeout",
        "readiness_health_check_type",
        "readiness_health_check_endpoint",
        "readiness_health_check_invocation_timeout",
        "readiness_health_check_interval",
    ):
        if key in values:
            setattr(process, key, values[key])
    # Only an http check has an endpoint.
    if process.health_check_type != "http":
        process.health_check_endpoint = None
    if process.readiness_health_check_type != "http":
        process.readiness_health_check_endpoint = None
    # A manifest scales a started app at once, so the quotas hold here as for a scale.
    check_process_quotas(session, process, before)
    process.updated_at = utcnow()


def _apply_app_settings(session: Session, app: App, manifest: AppManifest) -> None:
    if manifest.buildpacks is not None and app.lifecycle_type != "docker":
        app.buildpacks = list(manifest.buildpacks)
    if manifest.stack is not None and app.lifecycle_type != "docker":
        if not stack_exists(session, manifest.stack):
            raise CFError("UnprocessableEntity", "Stack must be an existing stack")
        app.stack = manifest.stack


def _mappings(session: Session, app: App) -> list[RouteDestination]:
    return list(session.scalars(select(RouteDestination).where(RouteDestination.app_guid == app.guid)))


def _apply_routes(session: Session, where: _Where, app: App, manifest: AppManifest) -> None:
    if manifest.no_route:
        for mapping in _mappings(session, app):
            session.delete(mapping)
        return
    routes = list(manifest.routes or [])
    if not routes and (manifest.default_route or manifest.random_route) and not _mappings(session, app):
        domain = default_domain(session, where.org.guid)
        if domain is None:
            raise CFError("UnprocessableEntity", "No default domains available")
        host = _random_host(app.name) if manifest.random_route else app.name
        if not _HOST.match(host):
            raise CFError(
                "UnprocessableEntity",
                'Failed to create default route from app name: Host must be either "*" or contain only '
                'alphanumeric characters, "_", or "-"',
            )
        if len(host) > 63:
            raise CFError(
                "UnprocessableEntity", "Failed to create default route from app name: Host cannot exceed 63 characters"
            )
        routes = [RouteManifest(f"{host}.{domain.name}")]
    for wanted in routes:
        route = _find_or_create_route(session, where, wanted)
        spec = DestinationSpec(app.guid, "web", None, wanted.protocol)
        add_destinations(session, route, [spec], where.actor, where.org.guid, commit=False)


def _random_host(name: str) -> str:
    pick = secrets.choice
    return f"{name}-{pick(_ADJECTIVES)}-{pick(_NOUNS)}-{pick(_LETTERS)}{pick(_LETTERS)}"


def _split_route(text: str) -> tuple[str, str, int | None]:
    """``host.domain:port/path`` -> (``host.domain``, ``/path``, port)."""
    hostpart, slash, path = text.partition("/")
    port: int | None = None
    if ":" in hostpart:
        hostpart, _, port_text = hostpart.partition(":")
        port = int(port_text) if port_text.isdigit() else -1
    return hostpart.lower(), (slash + path) if slash else "", port


def _find_or_create_route(session: Session, where: _Where, wanted: RouteManifest) -> Route:
    hostname, path, port = _split_route(wanted.route)
    if port == -1:
        raise CFError("UnprocessableEntity", f"The route '{wanted.route}' is not a properly formed URL")
    # The whole name as a domain first (a route with no host), then the first label as the host.
    candidates: list[tuple[str, Domain]] = []
    if (whole := domain_named(session, hostname)) is not None:
        candidates.append(("", whole))
    host, _, rest = hostname.partition(".")
    if rest and (domain := domain_named(session, rest)) is not None:
        candidates.append((host, domain))
    if not candidates:
        raise CFError("UnprocessableEntity", f"No domains exist for route {wanted.route}")
    for candidate_host, domain in candidates:
        existing = route_with_identity(session, domain.guid, candidate_host, path, port)
        if existing is not None:
            if existing.space_guid != where.space.guid:
                raise CFError("UnprocessableEntity", "Routes cannot be mapped to destinations in different spaces")
            if wanted.options:
                existing.options = {**(existing.options or {}), **wanted.options}
            return existing
    candidate_host, domain = candidates[0]
    change = RouteChange(host=candidate_host, path=path, port=port, options=wanted.options)
    try:
        return create_route(
            session,
            where.settings,
            change,
            space=where.space,
            org=where.org,
            domain=domain,
            actor=where.actor,
            manifest_triggered=True,
        )
    except CFError as exc:
        raise CFError("UnprocessableEntity", f"For route '{wanted.route}': {exc.detail}") from None
