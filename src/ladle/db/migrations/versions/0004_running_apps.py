"""Running apps: domains, routes and their destinations, instances, tasks, deployments, audit events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ladle.db.migrations.expression_index import Expression, create_expression_index, drop_expression_index
from ladle.db.migrations.mysql_downgrade import dropped_whole_on_mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DOMAIN_NAME: list[str | Expression] = [Expression("lower(name)", "name_lower", sa.String(length=253))]
ROUTE_IDENTITY: list[str | Expression] = [
    "domain_guid",
    Expression("lower(host)", "host_lower", sa.String(length=63)),
    "path",
    Expression("coalesce(port, 0)", "port_key", sa.Integer()),
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor_guid", sa.String(length=255), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=True),
        sa.Column("actor_name", sa.String(length=255), nullable=True),
        sa.Column("target_guid", sa.String(length=36), nullable=True),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_name", sa.String(length=255), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("space_guid", sa.String(length=36), nullable=True),
        sa.Column("organization_guid", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("guid", name=op.f("uq_audit_events_guid")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_organization_guid"), ["organization_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_space_guid"), ["space_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_target_guid"), ["target_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_type"), ["type"], unique=False)

    op.create_table(
        "domains",
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("organization_guid", sa.String(length=36), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_guid"],
            ["organizations.guid"],
            name=op.f("fk_domains_organization_guid_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint("guid", name=op.f("uq_domains_guid")),
    )
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domains_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_domains_organization_guid"), ["organization_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_domains_updated_at"), ["updated_at"], unique=False)

    # Expression index: a domain name is unique whatever its case.
    create_expression_index("ux_domains_name", "domains", DOMAIN_NAME)

    op.create_table(
        "routes",
        sa.Column("host", sa.String(length=63), nullable=False),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("domain_guid", sa.String(length=36), nullable=False),
        sa.Column("space_guid", sa.String(length=36), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["domain_guid"], ["domains.guid"], name=op.f("fk_routes_domain_guid_domains")),
        sa.ForeignKeyConstraint(["space_guid"], ["spaces.guid"], name=op.f("fk_routes_space_guid_spaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("guid", name=op.f("uq_routes_guid")),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routes_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_routes_domain_guid"), ["domain_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_routes_space_guid"), ["space_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_routes_updated_at"), ["updated_at"], unique=False)

    # Expression index: one route per domain, host (any case), path and port.
    create_expression_index("ux_routes_identity", "routes", ROUTE_IDENTITY)

    op.create_table(
        "deployments",
        sa.Column("app_guid", sa.String(length=36), nullable=False),
        sa.Column("status_value", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("last_healthy_at", sa.DateTime(), nullable=True),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=False),
        sa.Column("droplet_guid", sa.String(length=36), nullable=True),
        sa.Column("previous_droplet_guid", sa.String(length=36), nullable=True),
        sa.Column("process_guid", sa.String(length=36), nullable=True),
        sa.Column("process_version", sa.String(length=36), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_guid"], ["apps.guid"], name=op.f("fk_deployments_app_guid_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("guid", name=op.f("uq_deployments_guid")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_app_guid"), ["app_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_status_value"), ["status_value"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "route_destinations",
        sa.Column("route_guid", sa.String(length=36), nullable=False),
        sa.Column("app_guid", sa.String(length=36), nullable=False),
        sa.Column("process_type", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=8), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_guid"], ["apps.guid"], name=op.f("fk_route_destinations_app_guid_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["route_guid"], ["routes.guid"], name=op.f("fk_route_destinations_route_guid_routes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_destinations")),
        sa.UniqueConstraint("guid", name=op.f("uq_route_destinations_guid")),
        sa.UniqueConstraint("route_guid", "app_guid", "process_type", "port", name="uq_route_destinations_target"),
    )
    with op.batch_alter_table("route_destinations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_destinations_app_guid"), ["app_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_route_destinations_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_route_destinations_route_guid"), ["route_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_route_destinations_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("app_guid", sa.String(length=36), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("memory_in_mb", sa.Integer(), nullable=False),
        sa.Column("disk_in_mb", sa.Integer(), nullable=False),
        sa.Column("log_rate_limit", sa.BigInteger(), nullable=False),
        sa.Column("droplet_guid", sa.String(length=36), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("node", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["app_guid"], ["apps.guid"], name=op.f("fk_tasks_app_guid_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("app_guid", "sequence_id", name="uq_tasks_app_sequence"),
        sa.UniqueConstraint("guid", name=op.f("uq_tasks_guid")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_app_guid"), ["app_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("guid", sa.String(length=36), nullable=False),
        sa.Column("process_guid", sa.String(length=36), nullable=False),
        sa.Column("app_guid", sa.String(length=36), nullable=False),
        sa.Column("process_version", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("droplet_guid", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("internal_ip", sa.String(length=64), nullable=True),
        sa.Column("internal_port", sa.Integer(), nullable=True),
        sa.Column("routable", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("crash_count", sa.Integer(), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("usage", sa.JSON(), nullable=False),
        sa.Column("mem_quota", sa.BigInteger(), nullable=True),
        sa.Column("disk_quota", sa.BigInteger(), nullable=True),
        sa.Column("log_rate_limit", sa.BigInteger(), nullable=True),
        sa.Column("fds_quota", sa.Integer(), nullable=True),
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_guid"], ["processes.guid"], name=op.f("fk_instances_process_guid_processes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("guid", name=op.f("uq_instances_guid")),
        sa.UniqueConstraint("process_guid", "process_version", "index", name="uq_instances_slot"),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instances_app_guid"), ["app_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_node"), ["node"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_process_guid"), ["process_guid"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    if dropped_whole_on_mysql(
        "instances", "tasks", "route_destinations", "deployments", "routes", "domains", "audit_events"
    ):
        return
    drop_expression_index("ux_routes_identity", "routes", ROUTE_IDENTITY)
    drop_expression_index("ux_domains_name", "domains", DOMAIN_NAME)
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_updated_at"))
        batch_op.drop_index(batch_op.f("ix_instances_process_guid"))
        batch_op.drop_index(batch_op.f("ix_instances_node"))
        batch_op.drop_index(batch_op.f("ix_instances_app_guid"))

    op.drop_table("instances")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_updated_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_state"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_app_guid"))

    op.drop_table("tasks")
    with op.batch_alter_table("route_destinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_destinations_updated_at"))
        batch_op.drop_index(batch_op.f("ix_route_destinations_route_guid"))
        batch_op.drop_index(batch_op.f("ix_route_destinations_created_at"))
        batch_op.drop_index(batch_op.f("ix_route_destinations_app_guid"))

    op.drop_table("route_destinations")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_updated_at"))
        batch_op.drop_index(batch_op.f("ix_deployments_status_value"))
        batch_op.drop_index(batch_op.f("ix_deployments_created_at"))
        batch_op.drop_index(batch_op.f("ix_deployments_app_guid"))

    op.drop_table("deployments")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routes_updated_at"))
        batch_op.drop_index(batch_op.f("ix_routes_space_guid"))
        batch_op.drop_index(batch_op.f("ix_routes_domain_guid"))
        batch_op.drop_index(batch_op.f("ix_routes_created_at"))

    op.drop_table("routes")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domains_updated_at"))
        batch_op.drop_index(batch_op.f("ix_domains_organization_guid"))
        batch_op.drop_index(batch_op.f("ix_domains_created_at"))

    op.drop_table("domains")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_type"))
        batch_op.drop_index(batch_op.f("ix_audit_events_target_guid"))
        batch_op.drop_index(batch_op.f("ix_audit_events_space_guid"))
        batch_op.drop_index(batch_op.f("ix_audit_events_organization_guid"))
        batch_op.drop_index(batch_op.f("ix_audit_events_created_at"))

    op.drop_table("audit_events")
