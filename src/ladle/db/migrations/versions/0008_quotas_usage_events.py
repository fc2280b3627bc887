"""Organization and space quotas, and app usage events.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ladle.db.migrations.expression_index import Expression, create_expression_index

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _resource_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _limit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("total_memory_in_mb", sa.Integer(), nullable=True),
        sa.Column("per_process_memory_in_mb", sa.Integer(), nullable=True),
        sa.Column("total_instances", sa.Integer(), nullable=True),
        sa.Column("per_app_tasks", sa.Integer(), nullable=True),
        sa.Column("log_rate_limit_in_bytes_per_second", sa.BigInteger(), nullable=True),
        sa.Column("paid_services_allowed", sa.Boolean(), nullable=False),
        sa.Column("total_service_instances", sa.Integer(), nullable=True),
        sa.Column("total_service_keys", sa.Integer(), nullable=True),
        sa.Column("total_routes", sa.Integer(), nullable=True),
        sa.Column("total_reserved_ports", sa.Integer(), nullable=True),
    ]


def _resource_indexes(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_created_at"), table, ["created_at"])
    op.create_index(op.f(f"ix_{table}_updated_at"), table, ["updated_at"])


# Quota names are unique whatever their case (MySQL indexes a generated copy, see expression_index).
LOWER_NAME = Expression("lower(name)", "name_lower", sa.String(length=250))


def upgrade() -> None:
    op.create_table(
        "organization_quotas",
        *_resource_columns(),
        sa.Column("name", sa.String(length=250), nullable=False),
        *_limit_columns(),
        sa.Column("total_domains", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_quotas")),
        sa.UniqueConstraint("guid", name=op.f("uq_organization_quotas_guid")),
    )
    _resource_indexes("organization_quotas")
    create_expression_index("ux_organization_quotas_name", "organization_quotas", [LOWER_NAME])

    op.create_table(
        "space_quotas",
        *_resource_columns(),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("organization_guid", sa.String(length=36), nullable=False),
        *_limit_columns(),
        sa.ForeignKeyConstraint(
            ["organization_guid"],
            ["organizations.guid"],
            name=op.f("fk_space_quotas_organization_guid_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_quotas")),
        sa.UniqueConstraint("guid", name=op.f("uq_space_quotas_guid")),
    )
    _resource_indexes("space_quotas")
    op.create_index(op.f("ix_space_quotas_organization_guid"), "space_quotas", ["organization_guid"])
    create_expression_index("ux_space_quotas_org_name", "space_quotas", ["organization_guid", LOWER_NAME])

    # Plain columns (no foreign key), so SQLite needs no table rebuild; rows name quotas by guid.
    op.add_column("organizations", sa.Column("quota_guid", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_organizations_quota_guid"), "organizations", ["quota_guid"])
    op.add_column("spaces", sa.Column("quota_guid", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_spaces_quota_guid"), "spaces", ["quota_guid"])

    op.create_table(
        "app_usage_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("previous_state", sa.String(length=32), nullable=True),
        sa.Column("app_guid", sa.String(length=36), nullable=True),
        sa.Column("app_name", sa.String(length=255), nullable=True),
        sa.Column("process_guid", sa.String(length=36), nullable=True),
        sa.Column("process_type", sa.String(length=255), nullable=True),
        sa.Column("space_guid", sa.String(length=36), nullable=True),
        sa.Column("space_name", sa.String(length=255), nullable=True),
        sa.Column("organization_guid", sa.String(length=36), nullable=True),
        sa.Column("buildpack_guid", sa.String(length=255), nullable=True),
        sa.Column("buildpack_name", sa.Text(), nullable=True),
        sa.Column("task_guid", sa.String(length=36), nullable=True),
        sa.Column("task_name", sa.String(length=255), nullable=True),
        sa.Column("memory_in_mb_per_instance", sa.Integer(), nullable=True),
        sa.Column("previous_memory_in_mb_per_instance", sa.Integer(), nullable=True),
        sa.Column("instance_count", sa.Integer(), nullable=True),
        sa.Column("previous_instance_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_usage_events")),
        sa.UniqueConstraint("guid", name=op.f("uq_app_usage_events_guid")),
    )
    op.create_index(op.f("ix_app_usage_events_created_at"), "app_usage_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("app_usage_events")
    op.drop_index(op.f("ix_spaces_quota_guid"), "spaces")
    op.drop_column("spaces", "quota_guid")
    op.drop_index(op.f("ix_organizations_quota_guid"), "organizations")
    op.drop_column("organizations", "quota_guid")
    op.drop_table("space_quotas")
    op.drop_table("organization_quotas")
