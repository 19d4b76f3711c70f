"""The engine and its transactions, for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


class Database:
    """Owns the engine. `transaction()` for writes, `read()` for reads.

    SQLite allows one writer at a time; serialising writers in-process keeps them from failing
    with "database is locked" while WAL still lets readers run beside the writer.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: AsyncEngine = _create_engine(url, echo=echo, is_sqlite=self.is_sqlite)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            conn = await stack.enter_async_context(self.engine.begin())
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_engine(url: str, *, echo: bool, is_sqlite: bool) -> AsyncEngine:
    if not is_sqlite:
        return create_async_engine(url, echo=echo, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # No rollback when a connection returns to the pool: every transaction here ends itself
    # (commit, or rollback on error or close), and on SQLite each call is a hop to aiosqlite's
    # thread that a busy event loop answers late.
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": 30}, pool_reset_on_return=None
    )
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
