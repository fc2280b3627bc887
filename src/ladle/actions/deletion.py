"""Deleting apps, spaces and organizations with everything inside them (run by jobs).

Rows go first, in one transaction; the blobs they pointed at are deleted after the commit. A
crash in between leaves orphan blobs, which the sweep removes, never rows without their blobs.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import delete_metadata
from ladle.blobstore import Blobstores
from ladle.db.lookup import by_guid
from ladle.db.models import App, Organization, Package, Process, Role, Space
from ladle.jobs.executor import JobContext

__all__ = [
    "BlobRefs",
    "delete_app_rows",
    "delete_blobs",
    "run_app_delete",
    "run_organization_delete",
    "run_role_delete",
    "run_space_delete",
]

# (bucket name, key) pairs whose blobs are to be deleted once the rows are gone.
BlobRefs = list[tuple[str, str]]


def delete_app_rows(session: Session, app: App) -> BlobRefs:
    blobs: BlobRefs = []
    process_guids = list(session.scalars(select(Process.guid).where(Process.app_guid == app.guid)))
    delete_metadata(session, "process", process_guids)
    session.execute(delete(Process).where(Process.app_guid == app.guid))
    package_guids = list(session.scalars(select(Package.guid).where(Package.app_guid == app.guid)))
    delete_metadata(session, "package", package_guids)
    session.execute(delete(Package).where(Package.app_guid == app.guid))
    blobs += [("packages", guid) for guid in package_guids]
    delete_metadata(session, "app", [app.guid])
    session.delete(app)
    return blobs


def delete_space_rows(session: Session, space: Space) -> BlobRefs:
    blobs: BlobRefs = []
    for app in session.scalars(select(App).where(App.space_guid == space.guid)).all():
        blobs += delete_app_rows(session, app)
    session.execute(delete(Role).where(Role.space_guid == space.guid))
    delete_metadata(session, "space", [space.guid])
    session.delete(space)
    return blobs


def delete_organization_rows(session: Session, org: Organization) -> BlobRefs:
    blobs: BlobRefs = []
    for space in session.scalars(select(Space).where(Space.organization_guid == org.guid)).all():
        blobs += delete_space_rows(session, space)
    session.execute(delete(Role).where(Role.organization_guid == org.guid))
    delete_metadata(session, "organization", [org.guid])
    session.delete(org)
    return blobs


def delete_blobs(blobstores: Blobstores, blobs: BlobRefs) -> None:
    for bucket, key in blobs:
        getattr(blobstores, bucket).delete(key)


def run_app_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        app = by_guid(s, App, ctx.resource_guid or "")
        if app is None:
            return
        blobs = delete_app_rows(s, app)
        s.commit()
    delete_blobs(ctx.blobstores, blobs)


def run_space_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        space = by_guid(s, Space, ctx.resource_guid or "")
        if space is None:
            return
        blobs = delete_space_rows(s, space)
        s.commit()
    delete_blobs(ctx.blobstores, blobs)


def run_organization_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        org = by_guid(s, Organization, ctx.resource_guid or "")
        if org is None:
            return
        blobs = delete_organization_rows(s, org)
        s.commit()
    delete_blobs(ctx.blobstores, blobs)


def run_role_delete(ctx: JobContext) -> None:
    with ctx.db.session() as s:
        role = by_guid(s, Role, ctx.resource_guid or "")
        if role is not None:
            s.delete(role)
            s.commit()
