"""Queries over organization and space quotas: lists, who sees which, and what an org or a space
uses against its limits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import App, Domain, Organization, OrganizationQuota, Process, Role, Route, Space, SpaceQuota, Task
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = [
    "DEFAULT_QUOTA_LIMITS",
    "DEFAULT_QUOTA_NAME",
    "default_organization_quota",
    "instances_used",
    "memory_used",
    "organization_quotas_page",
    "orgs_with_quota",
    "private_domains",
    "routes_used",
    "space_quota_readable",
    "space_quotas_page",
    "spaces_with_quota",
    "tasks_running",
]

DEFAULT_QUOTA_NAME = "default"
# cf-deployment's default quota: 100 GiB of memory, 1000 routes, 100 reserved ports, the rest unlimited.
DEFAULT_QUOTA_LIMITS: dict[str, int | bool | None] = {
    "total_memory_in_mb": 102400,
    "paid_services_allowed": True,
    "total_routes": 1000,
    "total_reserved_ports": 100,
}


def default_organization_quota(session: Session) -> OrganizationQuota | None:
    return session.scalar(select(OrganizationQuota).where(OrganizationQuota.name == DEFAULT_QUOTA_NAME))


def organization_quotas_page(session: Session, params: ListParams) -> Page[OrganizationQuota]:
    # Every user may list organization quotas (their organizations are filtered when shown).
    stmt = filter_common(select(OrganizationQuota), OrganizationQuota, params, None)
    if "names" in params.arrays:
        stmt = stmt.where(OrganizationQuota.name.in_(params.arrays["names"]))
    if "organization_guids" in params.arrays:
        stmt = stmt.where(
            OrganizationQuota.guid.in_(
                select(Organization.quota_guid).where(Organization.guid.in_(params.arrays["organization_guids"]))
            )
        )
    return paginate(session, stmt, OrganizationQuota, params)


def _space_quota_visibility(perms: Permissions) -> ColumnElement[bool]:
    user = perms.identity.user_guid
    managed_orgs = select(Role.organization_guid).where(Role.user_guid == user, Role.type == "organization_manager")
    quotas_of_my_spaces = (
        select(Space.quota_guid).join(Role, Role.space_guid == Space.guid).where(Role.user_guid == user)
    )
    return or_(SpaceQuota.organization_guid.in_(managed_orgs), SpaceQuota.guid.in_(quotas_of_my_spaces))


def space_quotas_page(session: Session, perms: Permissions, params: ListParams) -> Page[SpaceQuota]:
    stmt = select(SpaceQuota)
    if not perms.reads_globally:
        stmt = stmt.where(_space_quota_visibility(perms))
    stmt = filter_common(stmt, SpaceQuota, params, None)
    if "names" in params.arrays:
        stmt = stmt.where(SpaceQuota.name.in_(params.arrays["names"]))
    if "organization_guids" in params.arrays:
        stmt = stmt.where(SpaceQuota.organization_guid.in_(params.arrays["organization_guids"]))
    if "space_guids" in params.arrays:
        stmt = stmt.where(
            SpaceQuota.guid.in_(select(Space.quota_guid).where(Space.guid.in_(params.arrays["space_guids"])))
        )
    return paginate(session, stmt, SpaceQuota, params)


def space_quota_readable(session: Session, perms: Permissions, quota: SpaceQuota) -> bool:
    if perms.reads_globally:
        return True
    stmt = select(SpaceQuota.id).where(SpaceQuota.guid == quota.guid, _space_quota_visibility(perms))
    return session.scalar(stmt) is not None


def orgs_with_quota(session: Session, quota_guids: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {g: [] for g in quota_guids}
    rows = session.execute(
        select(Organization.quota_guid, Organization.guid)
        .where(Organization.quota_guid.in_(list(found)))
        .order_by(Organization.id)
    )
    for quota_guid, org_guid in rows:
        found[str(quota_guid)].append(org_guid)
    return found


def spaces_with_quota(session: Session, quota_guids: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {g: [] for g in quota_guids}
    rows = session.execute(
        select(Space.quota_guid, Space.guid).where(Space.quota_guid.in_(list(found))).order_by(Space.id)
    )
    for quota_guid, space_guid in rows:
        found[str(quota_guid)].append(space_guid)
    return found


def _started_processes(*, org_guid: str | None = None, space_guid: str | None = None) -> ColumnElement[bool]:
    in_spaces = (
        select(Space.guid).where(Space.organization_guid == org_guid)
        if org_guid is not None
        else select(Space.guid).where(Space.guid == space_guid)
    )
    return Process.app_guid.in_(select(App.guid).where(App.space_guid.in_(in_spaces)))


def memory_used(
    session: Session, *, except_process: str, org_guid: str | None = None, space_guid: str | None = None
) -> int:
    """Memory the started processes (but one) and running tasks reserve in an org or a space."""
    where = _started_processes(org_guid=org_guid, space_guid=space_guid)
    processes = session.scalar(
        select(func.coalesce(func.sum(Process.memory_in_mb * Process.instances), 0)).where(
            where, Process.state == "STARTED", Process.guid != except_process
        )
    )
    tasks = session.scalar(
        select(func.coalesce(func.sum(Task.memory_in_mb), 0)).where(
            Task.app_guid.in_(select(Process.app_guid).where(where)), Task.state.in_(("RUNNING", "CANCELING"))
        )
    )
    return int(processes or 0) + int(tasks or 0)


def instances_used(
    session: Session, *, except_process: str, org_guid: str | None = None, space_guid: str | None = None
) -> int:
    """Instances of the started processes (but one) in an org or a space."""
    where = _started_processes(org_guid=org_guid, space_guid=space_guid)
    total = session.scalar(
        select(func.coalesce(func.sum(Process.instances), 0)).where(
            where, Process.state == "STARTED", Process.guid != except_process
        )
    )
    return int(total or 0)


def routes_used(session: Session, *, org_guid: str | None = None, space_guid: str | None = None) -> int:
    stmt = select(func.count(Route.id))
    if org_guid is not None:
        stmt = stmt.where(Route.space_guid.in_(select(Space.guid).where(Space.organization_guid == org_guid)))
    else:
        stmt = stmt.where(Route.space_guid == space_guid)
    return int(session.scalar(stmt) or 0)


def tasks_running(session: Session, *, org_guid: str | None = None, space_guid: str | None = None) -> int:
    """Tasks still running (or being cancelled) in an org or a space."""
    apps = select(App.guid).where(
        App.space_guid.in_(select(Space.guid).where(Space.organization_guid == org_guid))
        if org_guid is not None
        else App.space_guid == space_guid
    )
    stmt = select(func.count(Task.id)).where(Task.app_guid.in_(apps), Task.state.in_(("RUNNING", "CANCELING")))
    return int(session.scalar(stmt) or 0)


def private_domains(session: Session, org_guid: str) -> int:
    return int(session.scalar(select(func.count(Domain.id)).where(Domain.organization_guid == org_guid)) or 0)
