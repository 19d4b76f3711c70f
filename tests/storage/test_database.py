"""The direct SQLite writer: one transaction per call, on the event loop when SQLite's write
lock is free and on a thread that waits for it when another process holds it; checkpoints of
the log on that thread. The engine's errors and echo, which show no stored value (T-105)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from parlour.storage.database import Database, DatabaseUnavailable
from tests.support import canaries
from tests.support.logs import records, written


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


async def test_a_write_that_finds_another_process_writing_waits_for_it_off_the_loop(
    db: Database, tmp_path: Path
) -> None:
    other_process = sqlite3.connect(tmp_path / "parlour.db", isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("INSERT INTO notes VALUES ('theirs')")
        write = asyncio.create_task(
            db.write_directly(lambda conn: conn.execute("INSERT INTO notes VALUES ('ours')"))
        )
        # The write begins, finds the lock taken and goes to its thread; the loop is ours to
        # run meanwhile, and the write does not finish while the other process holds the lock.
        done, _ = await asyncio.wait({write}, timeout=0.2)
        assert not done
        other_process.commit()
        async with asyncio.timeout(10):
            await write
    finally:
        other_process.close()
    assert await _notes(db) == ["ours", "theirs"]


async def test_the_log_is_checkpointed_so_it_does_not_grow_with_every_write(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "parlour.db-wal"
    note = "x" * 400
    rows_written = 0
    for _ in range(40):
        await db.write_directly(
            lambda conn: conn.executemany("INSERT INTO notes VALUES (?)", [(note,)] * 100)
        )
        rows_written += 100
        async with asyncio.timeout(10):
            await db.settled()  # a checkpoint that fell due has run
    # 4,000 notes of 400 bytes written; checkpoints after every thousand rows let the log start
    # again from its beginning, so it never held more than a fraction of them.
    assert log.stat().st_size < rows_written * len(note) / 2


async def test_t105_a_refused_write_neither_logs_nor_says_the_value_it_refused(
    database_url: str,
) -> None:
    """T-105: on each backend, a unique violation of a planted value, with `echo` on and logged
    with its traceback as a background loop logs a failure (logging set up as `parlour serve`
    sets it up): the error's text hides the statement's parameters (SQLAlchemy's `[parameters:
    …]`), echo still logs the SQL without them, and what PostgreSQL quotes of the refused row
    (`Key (note)=(…)`) is left out of the log. The value is nowhere in the log."""
    planted = canaries.register(f"stored-value-{secrets.token_hex(8)}")
    echo_logger = logging.getLogger("sqlalchemy.engine.Engine")
    handlers_before = list(echo_logger.handlers)
    db = Database(database_url, echo=True)

    async def store_twice() -> None:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TEMPORARY TABLE notes (note TEXT UNIQUE)"))
            insert = text("INSERT INTO notes VALUES (:note)")
            await conn.execute(insert, {"note": planted})
            await conn.execute(insert, {"note": planted})

    try:
        with written(logging.INFO, "json") as log:
            with pytest.raises(IntegrityError) as raised:
                await store_twice()
            logging.getLogger("parlour.storage").error("the write failed", exc_info=raised.value)
    finally:
        await db.dispose()
        for handler in set(echo_logger.handlers) - set(handlers_before):
            echo_logger.removeHandler(handler)  # echo's own stdout handler
    text_logged = log.getvalue()

    assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
    if db.is_sqlite:  # PostgreSQL's own text quotes the key; the log leaves it out (below)
        assert planted not in str(raised.value)
    leaked = [line[:400] for line in text_logged.splitlines() if planted in line]
    assert leaked == [], "\n".join(leaked)
    written_records = records(text_logged)
    assert any("INSERT INTO notes VALUES" in r["event"] for r in written_records)
    (failed,) = [r for r in written_records if r["event"] == "the write failed"]
    assert "IntegrityError" in failed["exception"]


async def test_a_read_that_finds_no_connection_free_in_time_is_unavailable_not_an_error(
    tmp_path: Path,
) -> None:
    """A node whose pooled connections all stay busy past the pool's timeout (a reconnect
    storm's handshakes) answers "unavailable, try again shortly", never an unexpected error."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'parlour.db'}")
    await database.engine.dispose()
    database.engine = create_async_engine(
        database.url, pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    try:
        async with database.read() as held:
            await held.execute(text("SELECT 1"))
            with pytest.raises(DatabaseUnavailable):
                async with database.read():
                    pass
        async with database.read() as conn:  # the connection is back: served again
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await database.dispose()
