"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Table, column, select, text, true, values
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.types import UtcDateTime


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


def per_span(
    conn: AsyncConnection,
    spans: Sequence[tuple[datetime, datetime]],
    at: ColumnElement[datetime],
    columns: Sequence[ColumnElement[Any]],
    *,
    where: Sequence[ColumnElement[bool]],
    group_by: Sequence[ColumnElement[Any]] = (),
) -> Select[Any]:
    """A query of `columns` (aggregates, and the `group_by` columns) over the rows `where`
    admits, per span [since, until) of `at`: each row of its result starts with the span's
    index in `spans`; a span no row falls in has none. The spans (a period's local days, say)
    come as a VALUES list, so a row's span is decided by the instants given, to the
    microsecond. Each span is meant as a range scan of an index on `at`: SQLite plans the join
    so; PostgreSQL is told to (a LATERAL subquery per span), whatever its statistics say."""
    table = values(
        column("n", Integer),
        column("since", UtcDateTime),
        column("until", UtcDateTime),
        name="spans",
    ).data([(n, since, until) for n, (since, until) in enumerate(spans)])
    if conn.dialect.name == "postgresql":
        per = (
            select(*columns)
            .where(*where, at >= table.c.since, at < table.c.until)
            .group_by(*group_by)
            .lateral("per")
        )
        return select(table.c.n, *per.c).select_from(table.join(per, true()))
    cte = table.cte("spans")
    return (
        select(cte.c.n, *columns)
        .where(*where, at >= cte.c.since, at < cte.c.until)
        .group_by(cte.c.n, *group_by)
    )
