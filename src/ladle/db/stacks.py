"""Queries over stacks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import Stack
from ladle.messages.lists import ListParams

__all__ = ["stacks_page"]


def stacks_page(session: Session, params: ListParams, default_stack: str) -> Page[Stack]:
    stmt = filter_common(select(Stack), Stack, params, "stack")
    if "names" in params.arrays:
        stmt = stmt.where(Stack.name.in_(params.arrays["names"]))
    default = params.scalars.get("default")
    if default == "true":
        stmt = stmt.where(Stack.name == default_stack)
    elif default == "false":
        stmt = stmt.where(Stack.name != default_stack)
    return paginate(session, stmt, Stack, params)
