"""The filters and paging every list shares: guids, timestamps, label selectors, order, pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from ladle.db.models import Label
from ladle.messages.label_selector import Requirement
from ladle.messages.lists import ListParams, TimeCondition

__all__ = ["Page", "filter_common", "label_clause", "paginate"]

T = TypeVar("T")
_SECOND = timedelta(seconds=1)


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int


def _time_clause(column: ColumnElement[datetime], condition: TimeCondition) -> ColumnElement[bool]:
    at = condition.at
    match condition.operator:
        case "lt":
            return column < at
        case "lte":
            return column < at + _SECOND
        case "gt":
            return column >= at + _SECOND
        case "gte":
            return column >= at
        case _:
            return and_(column >= at, column < at + _SECOND)


def label_clause(resource_type: str, guid_column: Any, requirement: Requirement) -> ColumnElement[bool]:
    """One label requirement as a condition on the resource's guid column."""
    match_key = and_(
        Label.resource_type == resource_type,
        Label.resource_guid == guid_column,
        Label.key_prefix == requirement.prefix,
        Label.key_name == requirement.name,
    )
    match requirement.operator:
        case "exists":
            return exists().where(match_key)
        case "not_exists":
            return ~exists().where(match_key)
        case "in" | "equal":
            if not requirement.values:
                return false()
            return exists().where(match_key, Label.value.in_(requirement.values))
        case _:  # notin, not_equal: resources without the label match too
            if not requirement.values:
                return true()
            return ~exists().where(match_key, Label.value.in_(requirement.values))


def filter_common(stmt: Select[Any], model: Any, params: ListParams, resource_type: str | None) -> Select[Any]:
    if "guids" in params.arrays:
        stmt = stmt.where(model.guid.in_(params.arrays["guids"]))
    for key, groups in params.timestamps.items():
        column = model.created_at if key == "created_ats" else model.updated_at
        for group in groups:
            # Plain lists match any of their seconds; each relational operator must hold.
            stmt = stmt.where(or_(*(_time_clause(column, c) for c in group)) if group else false())
    if resource_type is not None:
        for requirement in params.label_selector:
            stmt = stmt.where(label_clause(resource_type, model.guid, requirement))
    return stmt


def order_columns(model: Any, params: ListParams, default: Sequence[Any] | None = None) -> list[Any]:
    """The client's ``order_by`` (ties broken by guid), else ``default``, else creation order."""
    if params.order_by is None:
        return [*default, model.id] if default else [model.id]
    column: InstrumentedAttribute[Any] = getattr(model, params.order_by)
    if params.descending:
        return [column.desc(), model.guid.desc()]
    return [column.asc(), model.guid.asc()]


def paginate(
    session: Session,
    stmt: Select[Any],
    model: Any,
    params: ListParams,
    *,
    default_order: Sequence[Any] | None = None,
) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    ordered = stmt.order_by(*order_columns(model, params, default_order))
    rows: Sequence[Any] = session.scalars(
        ordered.limit(params.per_page).offset((params.page - 1) * params.per_page)
    ).all()
    return Page(list(rows), total)
