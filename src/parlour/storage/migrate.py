"""Applying Alembic migrations on the application's own async engine."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from parlour.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every node of one deployment.
_PG_MIGRATION_LOCK = 7_202_611
# Alembic keeps its migration context in a process-wide global, so two migrations at once in one
# process (two apps in two threads) would run on each other's connections.
_ALEMBIC_IN_USE = threading.Lock()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; nodes starting together take turns on PostgreSQL."""
    async with db.transaction() as conn:
        if not db.is_sqlite:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    with _ALEMBIC_IN_USE:
        command.upgrade(config, revision)
