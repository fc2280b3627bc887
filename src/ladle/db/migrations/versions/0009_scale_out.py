"""Scale-out: when a job was handed to a broker, and the periodic tasks' cluster-wide locks.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(), nullable=True))
    op.create_table(
        "housekeeping_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("held_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_housekeeping_locks")),
    )


def downgrade() -> None:
    op.drop_table("housekeeping_locks")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("enqueued_at")
