"""Deleting apps, spaces and organizations with everything inside them (run by jobs)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import delete_metadata
from ladle.db.lookup import by_guid
from ladle.db.models import App, Organization, Process, Role, Space
from ladle.jobs.executor import JobContext

__all__ = ["delete_app_rows", "run_app_delete", "run_organization_delete", "run_space_delete"]


def delete_app_rows(session: Session, app: App) -> None:
    process_guids = list(session.scalars(select(Process.guid).where(Process.app_guid == app.guid)))
    delete_metadata(session, "process", process_guids)
    session.execute(delete(Process).where(Process.app_guid == app.guid))
    delete_metadata(session, "app", [app.guid])
    session.delete(app)


def delete_space_rows(session: Session, space: Space) -> None:
    for app in session.scalars(select(App).where(App.space_guid == space.guid)).all():
        delete_app_rows(session, app)
    session.execute(delete(Role).where(Role.space_guid == space.guid))
    delete_metadata(session, "space", [space.guid])
    session.delete(space)


def delete_organization_rows(session: Session, org: Organization) -> None:
    for space in session.scalars(select(Space).where(Space.organization_guid == org.guid)).all():
        delete_space_rows(session, space)
    session.execute(delete(Role).where(Role.organization_guid == org.guid))
    delete_metadata(session, "organization", [org.guid])
    session.delete(org)


def run_app_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        app = by_guid(s, App, ctx.resource_guid or "")
        if app is not None:
            delete_app_rows(s, app)
            s.commit()


def run_space_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        space = by_guid(s, Space, ctx.resource_guid or "")
        if space is not None:
            delete_space_rows(s, space)
            s.commit()


def run_organization_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        org = by_guid(s, Organization, ctx.resource_guid or "")
        if org is not None:
            delete_organization_rows(s, org)
            s.commit()


def run_role_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        role = by_guid(s, Role, ctx.resource_guid or "")
        if role is not None:
            s.delete(role)
            s.commit()
