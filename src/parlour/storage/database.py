"""The engine and its transactions, for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")


class Database:
    """Owns the engine. `transaction()` for writes, `read()` for reads, and on SQLite
    `write_directly()` for the one write hot enough to bypass SQLAlchemy (the chat's messages).

    SQLite allows one writer at a time; serialising writers in-process keeps them from failing
    with "database is locked" while WAL still lets readers run beside the writer.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: AsyncEngine = _create_engine(url, echo=echo, is_sqlite=self.is_sqlite)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        database = self.url.database
        # A file only: an in-memory database is private to the connection that made it.
        self.direct = (
            DirectSqlite(database)
            if self.is_sqlite and database and database != ":memory:"
            else None
        )

    async def write_directly(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite with a file only: run `work` as one transaction on a connection of its own
        thread, in one hop. Through SQLAlchemy and aiosqlite every cursor, statement, fetch
        and commit is a hop to aiosqlite's thread, and each hop waits for a busy event loop's
        turn and for the GIL; a hot path that writes a few statements a batch pays ~8 of them."""
        assert self.direct is not None
        assert self._write_lock is not None
        async with self._write_lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.direct.executor, self.direct.run, work)

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
        if self.direct is not None:
            await self.direct.aclose()
        await self.engine.dispose()


class DirectSqlite:
    """A stdlib sqlite3 connection that only its one thread touches."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        return result

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self.executor, self._close)
            self.executor.shutdown()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: `run` says where each transaction begins and ends. (The
            # database's folder was made with the engine.)
            self._conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            _configure_sqlite(self._conn, None)
        return self._conn


def _create_engine(url: str, *, echo: bool, is_sqlite: bool) -> AsyncEngine:
    if not is_sqlite:
        return create_async_engine(url, echo=echo, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # No rollback when a connection returns to the pool: every transaction here ends itself
    # (commit, or rollback on error or close), and on SQLite each call is a hop to aiosqlite's
    # thread that a busy event loop answers late.
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": 30}, pool_reset_on_return=None
    )
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry | None) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
