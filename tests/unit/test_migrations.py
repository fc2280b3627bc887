"""The migrations build exactly the schema the models declare, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from ladle.db import migrate
from ladle.db.models import Base
from tests.support.server import drop_database, fresh_database_url


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_migrations_match_models(kind: str, tmp_path: Path) -> None:
    url = fresh_database_url(kind, "ladle_test_migrations", tmp_path)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        if kind == "postgresql":
            # PostgreSQL reflects everything, including expression and partial indexes.
            command.check(migrate.alembic_config(url))
    finally:
        engine.dispose()
        drop_database(kind, "ladle_test_migrations")
