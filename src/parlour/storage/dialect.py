"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    cast,
    func,
    select,
    text,
    true,
)
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
    index in `spans`; a span no row falls in may have none. A row's span is decided by the
    instants given, to the microsecond, and each span is read as a range of an index on `at`.
    The spans are one parameter whatever their number, so the statement is compiled once:
    on PostgreSQL two arrays, unnested, each span a LATERAL subquery (so planned as a range
    scan whatever the table's statistics say); on SQLite a JSON array of the instants written
    as a datetime column stores them, joined as a table (json_each)."""
    if conn.dialect.name == "postgresql":
        instants = postgresql.ARRAY(UtcDateTime())
        table = (
            func.unnest(
                bindparam("span_starts", [since for since, _ in spans], type_=instants),
                bindparam("span_ends", [until for _, until in spans], type_=instants),
            )
            .table_valued("since", "until", with_ordinality="n")
            .render_derived(name="spans")
        )
        per = (
            select(*columns)
            .where(*where, at >= table.c.since, at < table.c.until)
            .group_by(*group_by)
            .lateral("per")
        )
        return select(table.c.n - 1, *per.c).select_from(table.join(per, true()))
    stored = UtcDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    assert stored is not None
    pairs = json.dumps([[stored(since), stored(until)] for since, until in spans])
    each = func.json_each(bindparam("spans", pairs, type_=String)).table_valued("key", "value")
    each = each.alias("spans")
    since = func.json_extract(each.c.value, "$[0]")
    until = func.json_extract(each.c.value, "$[1]")
    return (
        select(cast(each.c.key, Integer), *columns)
        .where(*where, at >= since, at < until)
        .group_by(each.c.key, *group_by)
    )


def microseconds_between(
    conn: AsyncConnection, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
) -> ColumnElement[int]:
    """`later - earlier` in whole microseconds, exactly (NULL if either is): a duration the
    database works out, so a report carries numbers instead of datetimes into Python.
    PostgreSQL: the interval's epoch, a numeric. SQLite keeps a datetime as SQLAlchemy writes
    it, `YYYY-MM-DD HH:MM:SS.ffffff` text: the whole seconds between the two (their Julian days
    without the fraction, whose difference in seconds is within 10⁻⁴ of a whole number, so
    rounds to it: SQLite's own seconds, `unixepoch` and `strftime('%s')`, round a time at
    .9995 s up), then the microseconds."""
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier) * 1_000_000, BigInteger)

    def day(at: ColumnElement[datetime]) -> ColumnElement[float]:
        return func.julianday(func.substr(at, 1, 19))

    def micros(at: ColumnElement[datetime]) -> ColumnElement[int]:
        return cast(func.substr(at, 21, 6), Integer)

    seconds = cast(func.round((day(later) - day(earlier)) * 86_400), Integer)
    return seconds * 1_000_000 + micros(later) - micros(earlier)


def gathered(conn: AsyncConnection, integer: ColumnElement[int]) -> ColumnElement[Any]:
    """An aggregate: a group's values of an integer expression, NULLs left out, in one value
    that `integers` reads (PostgreSQL an array, SQLite a JSON array)."""
    present = integer.is_not(None)
    if conn.dialect.name == "postgresql":
        return func.array_agg(integer).filter(present)
    return func.json_group_array(integer).filter(present)


def integers(value: Any) -> list[int]:
    """The integers `gathered` gathered (none for a NULL: PostgreSQL's aggregate of no rows)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [int(n) for n in json.loads(value)]
    return [int(n) for n in value]
