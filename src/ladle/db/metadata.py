"""Reading labels and annotations for many resources in one query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, literal, select, text, union_all
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


# What a resource without labels or annotations has: one, shared (never changed: to_dict copies).
_NONE = Metadata()


class MetadataByGuid(dict[str, Metadata]):
    """Metadata per guid; a guid with none reads as empty (most resources have none, and a
    page of thousands would otherwise build thousands of empty objects)."""

    def __missing__(self, guid: str) -> Metadata:
        return _NONE


def load_metadata(session: Session, resource_type: str, guids: Iterable[str]) -> dict[str, Metadata]:
    out = MetadataByGuid()
    wanted = list(set(guids))
    if not wanted:
        return out
    rows = session.execute(_METADATA, {"type": resource_type, "guids": wanted}).all()
    for kind, guid, prefix, name, value, _id in rows:
        found = out.get(guid)
        if found is None:
            found = out[guid] = Metadata()
        (found.labels if kind == "l" else found.annotations)[_full_key(prefix, name)] = value
    return out


def _of(table: type[Label] | type[Annotation], kind: str) -> Select[str, str, str, str, str | None, int]:
    return select(
        literal(kind).label("kind"), table.resource_guid, table.key_prefix, table.key_name, table.value, table.id
    ).where(table.resource_type == bindparam("type"), table.resource_guid.in_(bindparam("guids", expanding=True)))


# Labels and annotations in one round trip, in the order they were written (built once: this
# runs for every resource presented).
_METADATA = union_all(_of(Label, "l"), _of(Annotation, "a")).order_by(text("kind"), text("id"))
