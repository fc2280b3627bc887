"""User-provided service instances, their bindings to apps, and the environment variable groups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _resource_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _resource_indexes(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{table}_updated_at"), ["updated_at"], unique=False)


def upgrade() -> None:
    op.create_table(
        "service_instances",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("space_guid", sa.String(length=36), nullable=False),
        sa.Column("credentials", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("syslog_drain_url", sa.Text(), nullable=True),
        sa.Column("route_service_url", sa.Text(), nullable=True),
        sa.Column("last_operation_type", sa.String(length=16), nullable=False),
        sa.Column("last_operation_at", sa.DateTime(), nullable=False),
        *_resource_columns(),
        sa.ForeignKeyConstraint(
            ["space_guid"], ["spaces.guid"], name=op.f("fk_service_instances_space_guid_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_instances")),
        sa.UniqueConstraint("guid", name=op.f("uq_service_instances_guid")),
        sa.UniqueConstraint("space_guid", "name", name="uq_service_instances_space_name"),
    )
    _resource_indexes("service_instances")
    with op.batch_alter_table("service_instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_instances_space_guid"), ["space_guid"], unique=False)

    op.create_table(
        "service_bindings",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("app_guid", sa.String(length=36), nullable=False),
        sa.Column("service_instance_guid", sa.String(length=36), nullable=False),
        sa.Column("credentials", sa.JSON(), nullable=False),
        sa.Column("syslog_drain_url", sa.Text(), nullable=True),
        *_resource_columns(),
        sa.ForeignKeyConstraint(
            ["app_guid"], ["apps.guid"], name=op.f("fk_service_bindings_app_guid_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_instance_guid"],
            ["service_instances.guid"],
            name=op.f("fk_service_bindings_service_instance_guid_service_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_bindings")),
        sa.UniqueConstraint("guid", name=op.f("uq_service_bindings_guid")),
        sa.UniqueConstraint("app_guid", "service_instance_guid", name="uq_service_bindings_app_instance"),
    )
    _resource_indexes("service_bindings")
    with op.batch_alter_table("service_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_bindings_app_guid"), ["app_guid"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_bindings_service_instance_guid"), ["service_instance_guid"], unique=False
        )

    op.create_table(
        "environment_variable_groups",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("environment_json", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_environment_variable_groups")),
    )


def downgrade() -> None:
    op.drop_table("environment_variable_groups")
    op.drop_table("service_bindings")
    op.drop_table("service_instances")
