"""The direct SQLite writer: one transaction per call, on a connection of its own thread."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from parlour.storage.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A file database with one table of notes."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'parlour.db'}")
    try:
        async with database.transaction() as conn:
            await conn.execute(text("CREATE TABLE notes (note TEXT NOT NULL)"))
        yield database
    finally:
        await database.dispose()


async def _notes(db: Database) -> list[str]:
    async with db.read() as conn:
        return [row[0] for row in await conn.execute(text("SELECT note FROM notes ORDER BY note"))]


async def test_what_the_direct_writer_commits_is_read_through_the_engine(db: Database) -> None:
    def write(conn: sqlite3.Connection) -> int:
        conn.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",)])
        return 2

    assert await db.write_directly(write) == 2
    assert await _notes(db) == ["a", "b"]


async def test_a_direct_write_that_fails_keeps_nothing_and_says_why(db: Database) -> None:
    def write_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO notes VALUES ('kept?')")
        conn.execute("INSERT INTO notes VALUES (NULL)")

    with pytest.raises(sqlite3.IntegrityError):
        await db.write_directly(write_then_fail)
    assert await _notes(db) == []
    # The connection is usable again: the failed transaction did not stay open.
    await db.write_directly(lambda conn: conn.execute("INSERT INTO notes VALUES ('next')"))
    assert await _notes(db) == ["next"]


async def test_an_in_memory_database_has_no_direct_writer() -> None:
    """A second connection to ":memory:" would open a different, empty database."""
    db = Database("sqlite+aiosqlite://")
    try:
        assert db.direct is None
    finally:
        await db.dispose()
