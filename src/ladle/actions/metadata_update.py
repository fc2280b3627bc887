"""Apply a request's labels and annotations to a resource (create and PATCH alike)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.config import Settings
from ladle.db.models import Annotation, Label, Resource
from ladle.errors import CFError
from ladle.messages.metadata import MetadataUpdate, split_key

__all__ = ["apply_metadata", "delete_metadata", "update_metadata", "update_resource_metadata"]


def _apply(
    session: Session,
    table: type[Label] | type[Annotation],
    resource_type: str,
    guid: str,
    values: dict[str, str | None],
) -> tuple[int, int]:
    def count() -> int:
        return (
            session.scalar(
                select(func.count()).where(table.resource_type == resource_type, table.resource_guid == guid)
            )
            or 0
        )

    before = count()
    for key, value in values.items():
        prefix, name = split_key(key)
        where = (
            table.resource_type == resource_type,
            table.resource_guid == guid,
            table.key_prefix == (prefix or ""),
            table.key_name == name,
        )
        row = cast(Label | Annotation | None, session.scalars(select(table).where(*where)).first())
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                table(
                    resource_type=resource_type,
                    resource_guid=guid,
                    key_prefix=prefix or "",
                    key_name=name,
                    value=value,
                )
            )
        else:
            row.value = value
    session.flush()
    return before, count()


def update_metadata(
    session: Session,
    resource_type: str,
    guid: str,
    update: MetadataUpdate | None,
    *,
    max_labels: int,
    max_annotations: int,
) -> None:
    """Merge the update into the resource's metadata, inside the caller's transaction.

    A count limit is only enforced when the request makes the count grow past it, and then the
    whole request is refused (the caller's transaction rolls back).
    """
    if update is None:
        return
    before, after = _apply(session, Label, resource_type, guid, update.labels)
    if before < after and after > max_labels:
        raise CFError("LabelLimitExceeded", len(update.labels), max_labels)
    before, after = _apply(session, Annotation, resource_type, guid, update.annotations)
    if before < after and after > max_annotations:
        raise CFError("AnnotationLimitExceeded", len(update.annotations), max_annotations)


def delete_metadata(session: Session, resource_type: str, guids: list[str]) -> None:
    for table in (Label, Annotation):
        session.execute(delete(table).where(table.resource_type == resource_type, table.resource_guid.in_(guids)))


def apply_metadata(
    session: Session, settings: Settings, resource_type: str, guid: str, update: MetadataUpdate | None
) -> None:
    """:func:`update_metadata` with the configured label and annotation limits."""
    update_metadata(
        session,
        resource_type,
        guid,
        update,
        max_labels=settings.max_labels_per_resource,
        max_annotations=settings.max_annotations_per_resource,
    )


def update_resource_metadata(
    session: Session, settings: Settings, resource_type: str, row: Resource, update: MetadataUpdate | None
) -> None:
    """A PATCH that changes only metadata (tasks, deployments): apply it and commit."""
    apply_metadata(session, settings, resource_type, row.guid, update)
    row.updated_at = utcnow()
    session.commit()
