"""Deployments keep the scaling options they were created with (shown back in ``options``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("web_instances", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("memory_in_mb", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disk_in_mb", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("log_rate_limit", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("log_rate_limit")
        batch.drop_column("disk_in_mb")
        batch.drop_column("memory_in_mb")
        batch.drop_column("web_instances")
