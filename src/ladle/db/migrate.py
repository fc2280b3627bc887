"""Bring a database to the newest schema with Alembic (run at start-up and by ``ladle db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from ladle.db.dialects import cluster_lock

__all__ = ["alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    # Several servers starting at once against one database migrate one at a time.
    with cluster_lock(engine, 7405124) as connection, connection.begin():
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
