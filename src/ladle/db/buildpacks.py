"""Queries over admin buildpacks."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ladle.db.listing import Page, filter_common, paginate
from ladle.db.models import Buildpack
from ladle.messages.lists import ListParams

__all__ = ["admin_buildpacks_named", "buildpacks_page", "detectable_buildpacks"]


def _for_stack(stack: str | None) -> ColumnElement[bool]:
    return or_(Buildpack.stack.is_(None), Buildpack.stack == stack) if stack else Buildpack.stack.is_(None)


def admin_buildpacks_named(session: Session, name: str, stack: str | None) -> list[Buildpack]:
    """Buildpacks of that name usable on the stack (ones bound to it first, then stackless ones)."""
    rows = session.scalars(
        select(Buildpack).where(Buildpack.name == name, Buildpack.lifecycle == "buildpack", _for_stack(stack))
    ).all()
    return sorted(rows, key=lambda b: b.stack is None)


def detectable_buildpacks(session: Session, stack: str | None) -> list[Buildpack]:
    """What auto-detection tries, in order: enabled, uploaded, for this stack or none."""
    return list(
        session.scalars(
            select(Buildpack)
            .where(
                Buildpack.lifecycle == "buildpack",
                Buildpack.enabled.is_(True),
                Buildpack.blob_key.is_not(None),
                _for_stack(stack),
            )
            .order_by(Buildpack.position, Buildpack.id)
        ).all()
    )


def buildpacks_page(session: Session, params: ListParams) -> Page[Buildpack]:
    stmt = filter_common(select(Buildpack), Buildpack, params, "buildpack")
    if "names" in params.arrays:
        stmt = stmt.where(Buildpack.name.in_(params.arrays["names"]))
    if "stacks" in params.arrays:
        stmt = stmt.where(Buildpack.stack.in_(params.arrays["stacks"]))
    if "lifecycle" in params.scalars:
        stmt = stmt.where(Buildpack.lifecycle == params.scalars["lifecycle"])
    # CC's default order: by lifecycle, then position.
    return paginate(session, stmt, Buildpack, params, default_order=[Buildpack.lifecycle, Buildpack.position])
