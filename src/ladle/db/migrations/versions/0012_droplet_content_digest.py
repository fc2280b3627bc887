"""Droplets record the digest of their files (their tar stream before compression), so that a
restage producing the same files reuses an earlier droplet's bits.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("droplets") as batch:
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("droplets") as batch:
        batch.drop_column("content_sha256")
