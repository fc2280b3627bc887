"""The filters and paging every list shares: guids, timestamps, label selectors, order, pages."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from ladle.db.models import Label
from ladle.messages.label_selector import Requirement
from ladle.messages.lists import ListParams, TimeCondition

__all__ = ["Page", "count_of", "filter_common", "label_clause", "paginate", "paginate_columns"]

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


def order_columns(
    model: Any, params: ListParams, default: Sequence[Any] | None = None, *, ties_by_id: bool = False
) -> list[Any]:
    """The client's ``order_by`` (ties broken by guid, or by insertion order for event logs whose
    order is the point), else ``default``, else creation order."""
    if params.order_by is None:
        return [*default, model.id] if default else [model.id]
    column: InstrumentedAttribute[Any] = getattr(model, params.order_by)
    tie = model.id if ties_by_id else model.guid
    if params.descending:
        return [column.desc(), tie.desc()]
    return [column.asc(), tie.asc()]


def paginate(
    session: Session,
    stmt: Select[Any],
    model: Any,
    params: ListParams,
    *,
    default_order: Sequence[Any] | None = None,
    ties_by_id: bool = False,
) -> Page[Any]:
    order = order_columns(model, params, default_order, ties_by_id=ties_by_id)
    total, window = _total_and_window(session, stmt, order, params)
    rows: Sequence[Any] = session.scalars(window).all()
    return Page(list(rows), total)


def paginate_columns(
    session: Session, stmt: Select[Any], model: Any, params: ListParams, *, total: int | None = None
) -> Page[Any]:
    """As :func:`paginate`, but each item is a row of the model's columns, read by attribute as
    the model's are (``row.guid``), not a model object: building and tracking ORM objects costs
    several times more than reading the rows, which shows on pages of thousands. For presenters
    that read only columns. ``total``: the count of what ``stmt`` finds, where the caller has a
    cheaper way to it."""
    total, window = _total_and_window(session, stmt, order_columns(model, params, None), params, total)
    window = window.with_only_columns(*model.__table__.columns)
    # On the connection, not the session: the rows come back as the driver's, with no pass
    # through the ORM's loading. Then as named tuples: an attribute of one is read ten times
    # faster than one of SQLAlchemy's rows, and a presenter reads twenty per item.
    make = _row_type(model)._make
    return Page([make(row) for row in session.connection().execute(window)], total)


def count_of(stmt: Select[Any]) -> Select[int]:
    """A statement counting the rows ``stmt`` finds."""
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def _total_and_window(
    session: Session, stmt: Select[Any], order: list[Any], params: ListParams, total: int | None = None
) -> tuple[int, Select[Any]]:
    """How many rows ``stmt`` finds (unless ``total`` says), and the statement for the page
    ``params`` asks for."""
    if total is None:
        total = session.scalar(count_of(stmt)) or 0
    window = stmt.order_by(*order).limit(params.per_page).offset((params.page - 1) * params.per_page)
    return total, window


@cache
def _row_type(model: Any) -> Any:
    return namedtuple(f"{model.__name__}Columns", [column.key for column in model.__table__.columns])
