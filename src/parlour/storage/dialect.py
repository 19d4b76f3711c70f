"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(
    conn: AsyncConnection, table: Table, values: dict[str, Any], keys: list[str], update: list[str]
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET the `update` columns (or DO NOTHING)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    if not update:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={column: statement.excluded[column] for column in update}
    )


async def serialise(conn: AsyncConnection, name: str) -> None:
    """Make writers that name the same thing take turns until their transactions end. SQLite
    already lets one writer in at a time (`Database.transaction`); PostgreSQL takes a
    transaction-scoped advisory lock on the name's hash."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )
