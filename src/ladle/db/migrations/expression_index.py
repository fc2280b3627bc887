"""Unique indexes over expressions (``lower(name)``, ``coalesce(port, 0)``) on every database.

SQLite and PostgreSQL index the expressions themselves. MySQL and MariaDB index no expressions,
so there each expression becomes a column the server generates from it (stored, never written by
Ladle, unknown to the models) and the index covers that column: the same rows collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op

from ladle.db.dialects import is_mysql

__all__ = ["Expression", "create_expression_index", "drop_expression_index"]


@dataclass(frozen=True)
class Expression:
    """``sql`` over the table's columns, and the generated column that stands for it on MySQL."""

    sql: str
    column: str
    type: sa.types.TypeEngine[Any]


def create_expression_index(name: str, table: str, parts: Sequence[str | Expression]) -> None:
    if not is_mysql(op.get_bind().dialect):
        op.create_index(name, table, [sa.text(p.sql) if isinstance(p, Expression) else p for p in parts], unique=True)
        return
    for part in parts:
        if isinstance(part, Expression):
            op.add_column(table, sa.Column(part.column, part.type, sa.Computed(part.sql, persisted=True)))
    op.create_index(name, table, [p.column if isinstance(p, Expression) else p for p in parts], unique=True)


def drop_expression_index(name: str, table: str, parts: Sequence[str | Expression]) -> None:
    op.drop_index(name, table_name=table)
    if is_mysql(op.get_bind().dialect):
        for part in parts:
            if isinstance(part, Expression):
                op.drop_column(table, part.column)
