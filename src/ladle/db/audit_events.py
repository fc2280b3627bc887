"""Queries over audit events: what a caller may see of them, and ``/v3/audit_events``'s filters."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import AuditEvent
from ladle.db.permissions import Permissions
from ladle.messages.lists import ListParams

__all__ = ["audit_events_page", "readable_event"]


def audit_events_page(
    session: Session, perms: Permissions, params: ListParams, excluded_targets: list[str]
) -> Page[AuditEvent]:
    stmt = select(AuditEvent)
    if not perms.reads_globally:
        stmt = stmt.where(
            or_(
                AuditEvent.space_guid.in_(perms.event_space_guids()),
                AuditEvent.organization_guid.in_(perms.audited_org_guids()),
            )
        )
    stmt = filter_common(stmt, AuditEvent, params, None)
    for key, column in (
        ("types", AuditEvent.type),
        ("target_guids", AuditEvent.target_guid),
        ("space_guids", AuditEvent.space_guid),
        ("organization_guids", AuditEvent.organization_guid),
    ):
        if key in params.arrays:
            stmt = stmt.where(column.in_(params.arrays[key]))
    if excluded_targets:
        stmt = stmt.where(or_(AuditEvent.target_guid.is_(None), AuditEvent.target_guid.not_in(excluded_targets)))
    return paginate(session, stmt, AuditEvent, params, ties_by_id=True)


def readable_event(session: Session, perms: Permissions, guid: str) -> AuditEvent | None:
    event = session.scalar(select(AuditEvent).where(AuditEvent.guid == guid))
    if event is None or not perms.can_read_event(event.space_guid, event.organization_guid):
        return None
    return event
