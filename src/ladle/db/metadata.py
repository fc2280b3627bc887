"""Reading labels and annotations for many resources in two queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.models import Annotation, Label

__all__ = ["Metadata", "load_metadata"]


@dataclass
class Metadata:
    labels: dict[str, str | None] = field(default_factory=dict)
    annotations: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, str | None]]:
        return {"labels": dict(self.labels), "annotations": dict(self.annotations)}


def _full_key(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def load_metadata(session: Session, resource_type: str, guids: Iterable[str]) -> dict[str, Metadata]:
    wanted = list(dict.fromkeys(guids))
    out = {guid: Metadata() for guid in wanted}
    if not wanted:
        return out
    for table, attr in ((Label, "labels"), (Annotation, "annotations")):
        rows = session.execute(
            select(table.resource_guid, table.key_prefix, table.key_name, table.value)
            .where(table.resource_type == resource_type, table.resource_guid.in_(wanted))
            .order_by(table.id)
        ).all()
        for guid, prefix, name, value in rows:
            getattr(out[guid], attr)[_full_key(prefix, name)] = value
    return out
