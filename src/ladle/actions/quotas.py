"""Creating, changing, applying and deleting organization and space quotas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.jobs import add_job, start_job
from ladle.clock import utcnow
from ladle.db.lookup import by_guid
from ladle.db.models import Job, Organization, OrganizationQuota, Space, SpaceQuota
from ladle.db.quotas import orgs_with_quota, spaces_with_quota
from ladle.errors import CFError
from ladle.jobs.executor import Executor, JobContext
from ladle.messages.quota import QuotaChange

__all__ = [
    "apply_organization_quota",
    "apply_space_quota",
    "create_organization_quota",
    "create_space_quota",
    "remove_space_quota",
    "request_quota_delete",
    "run_organization_quota_delete",
    "run_space_quota_delete",
    "update_quota",
]


def _ruby_list(guids: list[str]) -> str:
    """A list as Ruby's ``Array#inspect`` writes it, which is how Cloud Controller names bad guids."""
    return "[" + ", ".join(f'"{g}"' for g in guids) + "]"


def _set_limits(quota: OrganizationQuota | SpaceQuota, change: QuotaChange) -> None:
    for key, value in change.limits.items():
        if key == "paid_services_allowed":
            quota.paid_services_allowed = bool(value)
        else:
            setattr(quota, key, value)


def _save(session: Session, quota: OrganizationQuota | SpaceQuota, taken: str) -> None:
    try:
        with session.begin_nested():
            session.add(quota)
            session.flush()
    except IntegrityError:
        raise CFError("UnprocessableEntity", taken) from None


def create_organization_quota(session: Session, change: QuotaChange) -> OrganizationQuota:
    assert change.name is not None
    quota = OrganizationQuota(name=change.name, paid_services_allowed=True)
    _set_limits(quota, change)
    _save(session, quota, f"Organization Quota '{change.name}' already exists.")
    if change.applied_to:
        apply_organization_quota(session, quota, change.applied_to, visible=None)
    session.commit()
    return quota


def create_space_quota(session: Session, change: QuotaChange, org: Organization) -> SpaceQuota:
    assert change.name is not None
    quota = SpaceQuota(name=change.name, organization_guid=org.guid, paid_services_allowed=True)
    _set_limits(quota, change)
    _save(session, quota, f"Space Quota '{change.name}' already exists.")
    if change.applied_to:
        apply_space_quota(session, quota, change.applied_to, visible=None)
    session.commit()
    return quota


def update_quota(session: Session, quota: OrganizationQuota | SpaceQuota, change: QuotaChange) -> None:
    kind = "Organization Quota" if isinstance(quota, OrganizationQuota) else "Space Quota"
    if change.name is not None:
        quota.name = change.name
    _set_limits(quota, change)
    quota.updated_at = utcnow()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise CFError("UnprocessableEntity", f"{kind} '{change.name}' already exists.") from None


def apply_organization_quota(
    session: Session, quota: OrganizationQuota, org_guids: list[str], *, visible: set[str] | None
) -> list[str]:
    """Make the quota that of each org (the caller commits); returns every org it now applies to."""
    orgs = list(session.scalars(select(Organization).where(Organization.guid.in_(org_guids))))
    found = {o.guid for o in orgs if visible is None or o.guid in visible}
    missing = [g for g in dict.fromkeys(org_guids) if g not in found]
    if missing:
        raise CFError(
            "UnprocessableEntity",
            f"Organizations with guids {_ruby_list(missing)} do not exist, or you do not have access to them.",
        )
    for org in orgs:
        org.quota_guid = quota.guid
    session.flush()
    return orgs_with_quota(session, [quota.guid])[quota.guid]


def apply_space_quota(
    session: Session, quota: SpaceQuota, space_guids: list[str], *, visible: set[str] | None
) -> list[str]:
    """Apply the quota to spaces of its organization (the caller commits)."""
    spaces = list(
        session.scalars(
            select(Space).where(Space.guid.in_(space_guids), Space.organization_guid == quota.organization_guid)
        )
    )
    found = {s.guid for s in spaces if visible is None or s.guid in visible}
    missing = [g for g in dict.fromkeys(space_guids) if g not in found]
    if missing:
        raise CFError(
            "UnprocessableEntity",
            f"Spaces with guids {_ruby_list(missing)} do not exist within the organization specified, "
            "or you do not have access to them.",
        )
    for space in spaces:
        space.quota_guid = quota.guid
    session.flush()
    return spaces_with_quota(session, [quota.guid])[quota.guid]


def remove_space_quota(session: Session, quota: SpaceQuota, space: Space) -> None:
    if space.quota_guid != quota.guid:
        raise CFError(
            "UnprocessableEntity",
            f"Unable to remove quota from space with guid '{space.guid}'. "
            "Ensure the space quota is applied to this space.",
        )
    space.quota_guid = None
    session.commit()


def request_quota_delete(
    session: Session, executor: Executor, quota: OrganizationQuota | SpaceQuota, user_guid: str
) -> Job:
    """Cloud Controller deletes a quota in a job, and only one no longer applied to anything."""
    if isinstance(quota, OrganizationQuota):
        if orgs_with_quota(session, [quota.guid])[quota.guid]:
            raise CFError(
                "UnprocessableEntity",
                "This quota is applied to one or more organizations. Remove this quota from all organizations "
                "before deleting.",
            )
        kind, resource_type = "organization_quota.delete", "organization_quota"
    else:
        if spaces_with_quota(session, [quota.guid])[quota.guid]:
            raise CFError(
                "UnprocessableEntity",
                "This quota is applied to one or more spaces. Remove this quota from all spaces before deleting.",
            )
        kind, resource_type = "space_quota.delete", "space_quota"
    job = add_job(session, kind, resource_type=resource_type, resource_guid=quota.guid, user_guid=user_guid)
    return start_job(session, executor, job)


def _run_delete(ctx: JobContext, model: type[OrganizationQuota] | type[SpaceQuota]) -> None:
    with ctx.db.session() as s:
        quota = by_guid(s, model, ctx.resource_guid or "")
        if quota is not None:
            s.delete(quota)
            s.commit()


def run_organization_quota_delete(ctx: JobContext) -> None:
    _run_delete(ctx, OrganizationQuota)


def run_space_quota_delete(ctx: JobContext) -> None:
    _run_delete(ctx, SpaceQuota)
