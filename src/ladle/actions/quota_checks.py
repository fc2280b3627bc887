"""Enforcing organization and space quotas when processes start or scale and routes are made.

Cloud Controller validates a process against both quotas and reports every broken rule at once,
as Sequel's full messages: ``memory quota_exceeded``, ``app_instance_limit
app_instance_limit_exceeded`` and their space twins, joined by ", ". Only started processes count
and only a started process is checked; a refusal raises before anything is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.models import App, Organization, OrganizationQuota, Process, QuotaLimits, Space, SpaceQuota
from ladle.db.quotas import instances_used, memory_used, private_domains, routes_used, tasks_running
from ladle.errors import CFError

__all__ = [
    "Footprint",
    "check_domain_quota",
    "check_process_quotas",
    "check_route_quotas",
    "check_task_quotas",
    "deployment_quota_error",
]


@dataclass(frozen=True)
class Footprint:
    """What a process reserved before the change (nothing if it was stopped)."""

    memory_in_mb: int = 0
    instances: int = 0

    @staticmethod
    def of(process: Process) -> Footprint:
        if process.state != "STARTED":
            return Footprint()
        return Footprint(process.memory_in_mb, process.instances)


@dataclass(frozen=True)
class _Scope:
    """One quota and where it applies: an org (prefix ``""``) or a space (``"space_"``)."""

    quota: QuotaLimits
    prefix: str
    org_guid: str | None = None
    space_guid: str | None = None


def _scopes(session: Session, space_guid: str) -> tuple[_Scope | None, _Scope | None]:
    """(the org's quota, the space's quota), each None when there is none."""
    space = session.scalars(select(Space).where(Space.guid == space_guid)).one()
    org = session.scalars(select(Organization).where(Organization.guid == space.organization_guid)).one()
    org_quota = session.scalar(select(OrganizationQuota).where(OrganizationQuota.guid == org.quota_guid))
    space_quota = session.scalar(select(SpaceQuota).where(SpaceQuota.guid == space.quota_guid))
    return (
        _Scope(org_quota, "", org_guid=org.guid) if org_quota else None,
        _Scope(space_quota, "space_", space_guid=space.guid) if space_quota else None,
    )


def _memory_errors(session: Session, process: Process, before: Footprint, scopes: list[_Scope | None]) -> list[str]:
    org, space = scopes
    wanted = process.memory_in_mb * process.instances
    errors: list[str] = []
    # Growing past the total is refused; shrinking is always allowed (a lowered quota must not
    # keep an org from scaling down).
    if wanted > before.memory_in_mb * before.instances:
        for scope in (space, org):
            limit = scope.quota.total_memory_in_mb if scope else None
            if scope is None or limit is None:
                continue
            used = memory_used(
                session, except_process=process.guid, org_guid=scope.org_guid, space_guid=scope.space_guid
            )
            if used + wanted > limit:
                errors.append(f"{scope.prefix}quota_exceeded")
    for scope in (org, space):
        limit = scope.quota.per_process_memory_in_mb if scope else None
        if scope is not None and limit is not None and process.memory_in_mb > limit:
            errors.append(f"{scope.prefix}instance_memory_limit_exceeded")
    return errors


def _instance_errors(session: Session, process: Process, scopes: list[_Scope | None]) -> list[str]:
    errors: list[str] = []
    for scope in scopes:
        limit = scope.quota.total_instances if scope else None
        if scope is None or limit is None:
            continue
        used = instances_used(
            session, except_process=process.guid, org_guid=scope.org_guid, space_guid=scope.space_guid
        )
        if used + process.instances > limit:
            errors.append(f"{scope.prefix}app_instance_limit_exceeded")
    return errors


def check_process_quotas(
    session: Session, process: Process, before: Footprint, *, assume_started: bool = False
) -> None:
    """Refuse (422) a started process whose new size breaks a quota of its org or space
    (``assume_started``: check it as if it were started, as a deployment's scale is)."""
    if process.state != "STARTED" and not assume_started:
        return
    with session.no_autoflush:
        space_guid = session.scalar(select(App.space_guid).where(App.guid == process.app_guid))
        assert space_guid is not None
        scopes = list(_scopes(session, space_guid))
        memory = _memory_errors(session, process, before, scopes)
        instances = _instance_errors(session, process, scopes)
    problems = [f"memory {m}" for m in memory] + [f"app_instance_limit {i}" for i in instances]
    if problems:
        raise CFError("UnprocessableEntity", ", ".join(problems))


def check_route_quotas(session: Session, space: Space, org: Organization) -> None:
    """Refuse a new route beyond the space's or the organization's ``total_routes``."""
    space_quota = session.scalar(select(SpaceQuota).where(SpaceQuota.guid == space.quota_guid))
    space_limit = space_quota.total_routes if space_quota else None
    if space_limit is not None and routes_used(session, space_guid=space.guid) >= space_limit:
        raise CFError("UnprocessableEntity", f"Routes quota exceeded for space '{space.name}'.")
    org_quota = session.scalar(select(OrganizationQuota).where(OrganizationQuota.guid == org.quota_guid))
    org_limit = org_quota.total_routes if org_quota else None
    if org_limit is not None and routes_used(session, org_guid=org.guid) >= org_limit:
        raise CFError("UnprocessableEntity", f"Routes quota exceeded for organization '{org.name}'.")


def check_task_quotas(session: Session, space_guid: str) -> None:
    """Refuse a task once the org's or the space's running tasks reach ``per_app_tasks``.

    Cloud Controller counts the running tasks of the whole org (or space) against it, despite the
    name, and names the org's refusal before the space's.
    """
    problems: list[str] = []
    for scope in _scopes(session, space_guid):
        limit = scope.quota.per_app_tasks if scope else None
        if scope is None or limit is None:
            continue
        if tasks_running(session, org_guid=scope.org_guid, space_guid=scope.space_guid) >= limit:
            problems.append(f"app_task_limit {scope.prefix}app_task_limit_exceeded")
    if problems:
        raise CFError("UnprocessableEntity", ", ".join(problems))


def deployment_quota_error(error: CFError, space: Space, org: Organization) -> CFError:
    """A deployment's quota refusal says whose quota and why a rolling deployment may need more."""
    detail = error.detail
    if "space_quota_exceeded" in detail or "space_app_instance_limit_exceeded" in detail:
        return CFError(
            "UnprocessableEntity",
            f"{detail} for space {space.name}. This space's quota may not be large enough to support rolling "
            "deployments or your configured max-in-flight.",
        )
    if "quota_exceeded" in detail or "app_instance_limit_exceeded" in detail:
        return CFError(
            "UnprocessableEntity",
            f"{detail} for organization {org.name}. This organization's quota may not be large enough to support "
            "rolling deployments or your configured max-in-flight.",
        )
    return error


def check_domain_quota(session: Session, org_guid: str) -> None:
    """Refuse a private domain beyond the organization's ``total_domains``."""
    org = session.scalars(select(Organization).where(Organization.guid == org_guid)).one()
    quota = session.scalar(select(OrganizationQuota).where(OrganizationQuota.guid == org.quota_guid))
    limit = quota.total_domains if quota else None
    if limit is not None and private_domains(session, org.guid) >= limit:
        raise CFError(
            "UnprocessableEntity", f'The number of private domains exceeds the quota for organization "{org.name}"'
        )
