"""At most one STAGING build per app, held by the database; indexes the list queries need at scale.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ladle.db.dialects import is_mysql

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

STAGING = sa.text("state = 'STAGING'")
STAGING_ERROR = "StagingError"
SUPERSEDED = "Staging was superseded by a newer build of the same app."


def upgrade() -> None:
    # Two API processes could each have found no build staging and both started one. Such pairs
    # left behind keep their newest build; the others fail, as an overdue build would.
    newest = "SELECT id FROM (SELECT max(id) AS id FROM builds WHERE state = 'STAGING' GROUP BY app_guid) AS newest"
    op.execute(
        sa.text(
            "UPDATE droplets SET state = 'FAILED', error_id = :id, error_description = :why WHERE state = 'STAGING'"
            " AND build_guid IN (SELECT guid FROM (SELECT guid FROM builds WHERE state = 'STAGING'"
            f" AND id NOT IN ({newest})) AS extra)"
        ).bindparams(id=STAGING_ERROR, why=SUPERSEDED)
    )
    op.execute(
        sa.text(
            "UPDATE builds SET state = 'FAILED', error_id = :id, error_description = :why"
            f" WHERE state = 'STAGING' AND id NOT IN ({newest})"
        ).bindparams(id=STAGING_ERROR, why=SUPERSEDED)
    )
    if is_mysql(op.get_bind().dialect):
        # No partial indexes on MySQL: a generated column holds the app of a STAGING build and
        # NULL otherwise (NULLs never collide).
        op.add_column(
            "builds",
            sa.Column(
                "staging_app_guid",
                sa.String(length=36),
                sa.Computed("CASE WHEN state = 'STAGING' THEN app_guid END", persisted=True),
            ),
        )
        op.create_index("ux_builds_one_staging", "builds", ["staging_app_guid"], unique=True)
    else:
        op.create_index(
            "ux_builds_one_staging", "builds", ["app_guid"], unique=True, sqlite_where=STAGING, postgresql_where=STAGING
        )

    # List filters the unique indexes cannot serve (found by tests/scale/test_postgres_plans.py):
    # ``GET /v3/apps?names=`` matches names exactly, ``GET /v3/routes?hosts=`` in any case.
    op.create_index("ix_apps_name", "apps", ["name"])
    if is_mysql(op.get_bind().dialect):
        # The column generated for ux_routes_identity; MySQL 8 matches lower(host) to it.
        op.create_index("ix_routes_host_lower", "routes", ["host_lower"])
    else:
        op.create_index("ix_routes_host_lower", "routes", [sa.text("lower(host)")])


def downgrade() -> None:
    op.drop_index("ix_routes_host_lower", table_name="routes")
    op.drop_index("ix_apps_name", table_name="apps")
    op.drop_index("ux_builds_one_staging", table_name="builds")
    if is_mysql(op.get_bind().dialect):
        op.drop_column("builds", "staging_app_guid")
