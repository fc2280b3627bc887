"""The migrations build exactly the schema the models declare, on every database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import DateTime, create_engine, inspect

from ladle.db import migrate
from ladle.db.models import Base
from tests.support.server import DATABASES, drop_database, fresh_database_url

# What MySQL has instead of the expression indexes: a unique index over generated columns.
MYSQL_EXPRESSION_INDEXES = {
    ("organizations", "ux_organizations_name"): ["name_lower"],
    ("spaces", "ux_spaces_org_name"): ["organization_guid", "name_lower"],
    ("apps", "ux_apps_space_name"): ["space_guid", "name_lower"],
    ("buildpacks", "ux_buildpacks_identity"): ["name", "stack_key", "lifecycle"],
    ("domains", "ux_domains_name"): ["name_lower"],
    ("routes", "ux_routes_identity"): ["domain_guid", "host_lower", "path", "port_key"],
    ("annotations", "uq_annotations_key"): ["resource_type", "resource_guid", "key_hash"],
}


@pytest.mark.parametrize("kind", DATABASES)
def test_migrations_match_models(kind: str, tmp_path: Path) -> None:
    url = fresh_database_url(kind, "ladle_test_migrations", tmp_path)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        if kind == "postgresql":
            # PostgreSQL reflects everything, including expression and partial indexes.
            command.check(migrate.alembic_config(url))
        if kind in ("mariadb", "mysql"):
            for table in tables:
                model = Base.metadata.tables[table]
                columns = {c["name"]: c for c in inspector.get_columns(table)}
                generated = {name for name, c in columns.items() if c.get("computed")}
                assert set(columns) - generated == set(model.columns.keys()), table
                for column in model.columns:
                    # Microseconds, as the other databases keep them.
                    if isinstance(column.type, DateTime):
                        assert getattr(columns[column.name]["type"], "fsp", None) == 6, (table, column.name)
            unique = {
                (table, index["name"]): index["column_names"]
                for table in tables
                for index in inspector.get_indexes(table)
                if index["unique"]
            }
            assert unique.items() >= MYSQL_EXPRESSION_INDEXES.items()
        # Every migration can be undone, and done again.
        command.downgrade(migrate.alembic_config(url), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set(Base.metadata.tables)
    finally:
        engine.dispose()
        drop_database(kind, "ladle_test_migrations")
