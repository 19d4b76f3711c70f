"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    keys: list[str],
    update: list[str],
    *,
    where: ColumnElement[bool] | None = None,
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET the `update` columns (or DO NOTHING); with
    `where`, the existing row is updated only when it holds."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    if not update:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={column: statement.excluded[column] for column in update},
        where=where,
    )


async def accumulate(
    conn: AsyncConnection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    column: str,
) -> None:
    """Insert each row, or add its `column` to the row already under its keys: counters many
    writers add to at once without reading first."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={column: table.c[column] + statement.excluded[column]},
    )
    await conn.execute(statement, rows)


async def serialise(conn: AsyncConnection, name: str) -> None:
    """Make writers that name the same thing take turns until their transactions end. SQLite
    already lets one writer in at a time (`Database.transaction`); PostgreSQL takes a
    transaction-scoped advisory lock on the name's hash."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


async def insert_unless_taken(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    """Insert the row unless one already holds any of its unique keys (INSERT … ON CONFLICT DO
    NOTHING, whichever constraint it meets); whether it was inserted. Nothing fails, so the
    transaction goes on on PostgreSQL too."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = await conn.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)
