"""Downgrades on MySQL, which refuses to drop an index a foreign key needs
(``Cannot drop index ...: needed in a foreign key constraint``): there a downgrade drops its tables
whole, indexes and all, instead of index by index first."""

from __future__ import annotations

from alembic import op

from ladle.db.dialects import is_mysql

__all__ = ["dropped_whole_on_mysql"]


def dropped_whole_on_mysql(*tables: str) -> bool:
    """Drop ``tables`` (dependents first) if the database is MySQL, and say whether it was."""
    if not is_mysql(op.get_bind().dialect):
        return False
    for table in tables:
        op.drop_table(table)
    return True
