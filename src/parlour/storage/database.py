"""The engine and its transactions, for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from parlour import metrics
from parlour.errors import Unavailable
from parlour.tasks import detached

T = TypeVar("T")
log = logging.getLogger(__name__)

# Rows written through the direct path between checkpoints: a message row and its indexes
# come to about a page of log, so this is near SQLite's own default of 1,000 pages.
CHECKPOINT_AFTER_ROWS = 1000
_PING = text("SELECT 1")
_SET_SCOPE = text("SELECT set_config('app.tenant_id', :ids, true)")
_BYPASSES_ROW_SECURITY = text(
    "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
)


# SQLSTATE classes of a server that cannot be reached or is going away: 08 connection
# exceptions; 57P01-57P03 admin or crash shutdown, and "the database system is starting up".
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"
    default_message = "The database cannot be reached; try again shortly."


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database server cannot be reached (refused, reset, restarting,
    a pooled connection found dead), rather than anything about the statement."""
    if isinstance(error, TimeoutError):
        return False  # a caller's own deadline, not the server's state
    if isinstance(error, OSError):
        return True
    if isinstance(error, DBAPIError):
        state = getattr(error.orig, "sqlstate", None) or ""
        return error.connection_invalidated or state.startswith(_UNREACHABLE_STATES)
    return False


@contextlib.asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """A server that cannot be reached is `DatabaseUnavailable` (503, `unavailable`, or a chat
    error frame) for every caller, never a raw driver error; the work is not done, and the
    pool, which pings a connection before lending it, recovers once the server is back."""
    try:
        yield
    except PoolTimeout as error:
        # Every pooled connection stayed busy for the pool's whole timeout (a reconnect storm's
        # handshakes, say): the server is there but this node cannot reach it in time, which is
        # the same answer to the caller, to try again shortly, and never a 500.
        log.warning("no database connection was free in time")
        raise DatabaseUnavailable() from error
    except Exception as error:
        if unreachable(error):
            log.warning("the database cannot be reached: %s", type(error).__name__)
            raise DatabaseUnavailable() from error
        raise


def _scope_of(tenant_ids: Iterable[str]) -> str:
    """The value of `app.tenant_id` that admits these tenants' rows (migration 0018)."""
    ids = sorted(set(tenant_ids))
    if any("," in tenant_id for tenant_id in ids):
        raise ValueError("a tenant id cannot hold a comma")
    return ",".join(ids)


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
        self._checkpointing: asyncio.Task[None] | None = None
        database = self.url.database
        # A file only: an in-memory database is private to the connection that made it.
        self.direct = (
            DirectSqlite(database)
            if self.is_sqlite and database and database != ":memory:"
            else None
        )

    async def write_directly(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite with a file only: run `work` as one transaction on SQLite's own driver,
        bypassing SQLAlchemy and aiosqlite, whose every cursor, statement, fetch and commit is
        a hop to another thread that waits for a busy event loop's turn and for the GIL."""
        assert self.direct is not None
        assert self._write_lock is not None
        started = perf_counter()
        async with self._write_lock:
            result = await self.direct.run(work)
        metrics.DATABASE_DIRECT_WRITE.observe(perf_counter() - started)
        if self.direct.checkpoint_due and self._checkpointing is None:
            self._checkpointing = detached(self._checkpoint(), name="sqlite checkpoint")
        return result

    async def _checkpoint(self) -> None:
        """Copy the log into the database, with writes held back meanwhile (they gather into
        the next batch): a checkpoint that raced new writes would never finish, and the log
        would only grow."""
        assert self.direct is not None
        assert self._write_lock is not None
        try:
            async with self._write_lock:
                await self.direct.checkpoint()
        except Exception:
            log.exception("checkpointing the SQLite log failed; the next one tries again")
        finally:
            self._checkpointing = None

    @contextlib.asynccontextmanager
    async def transaction(self, *tenant_ids: str) -> AsyncIterator[AsyncConnection]:
        """A transaction; on PostgreSQL it may see and write the rows of `tenant_ids` only, in
        the tables under row-level security (migration 0018), and none of theirs without."""
        started = perf_counter()
        try:
            async with _reachable(), contextlib.AsyncExitStack() as stack:
                if self._write_lock is not None:
                    await stack.enter_async_context(self._write_lock)
                conn = await stack.enter_async_context(self.engine.begin())
                await self.scope_to(conn, *tenant_ids)
                yield conn
        finally:
            metrics.DATABASE_TRANSACTION.observe(perf_counter() - started)

    @contextlib.asynccontextmanager
    async def read(self, *tenant_ids: str) -> AsyncIterator[AsyncConnection]:
        """Reads, in one transaction, scoped as `transaction`'s are."""
        started = perf_counter()
        try:
            async with _reachable(), self.engine.connect() as conn:
                await self.scope_to(conn, *tenant_ids)
                yield conn
        finally:
            metrics.DATABASE_READ.observe(perf_counter() - started)

    async def ping(self) -> None:
        """One round trip to the database; raises if it cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(_PING)

    async def role_bypasses_row_security(self) -> bool:
        """Whether the role this engine connects as passes through row-level security (a
        superuser, or BYPASSRLS); never on SQLite, which has none to pass."""
        if self.is_sqlite:
            return False
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(_BYPASSES_ROW_SECURITY))

    async def scope_to(self, conn: AsyncConnection, *tenant_ids: str) -> None:
        """Scope the transaction under way to these tenants instead (one made within it)."""
        if tenant_ids and not self.is_sqlite:
            # Transaction-local (`true`): a pooled connection carries no tenant to its next use.
            await conn.execute(_SET_SCOPE, {"ids": _scope_of(tenant_ids)})

    async def settled(self) -> None:
        """Once a checkpoint of the SQLite log under way, if any, has ended."""
        if self._checkpointing is not None:
            await self._checkpointing

    async def dispose(self) -> None:
        await self.settled()
        if self.direct is not None:
            await self.direct.aclose()
        await self.engine.dispose()


class DirectSqlite:
    """Two stdlib sqlite3 connections for the hot write path.

    A transaction runs on the event loop itself when it can begin at once. Run on a thread, it
    handed the GIL back and forth at every statement with a loop busy serving sockets, and
    those hand-offs cost more than the statements (bench/gateway's flood: about a fifth more
    messages a second on the loop). If another process holds SQLite's write lock, the
    transaction runs instead on a thread that waits for the lock while the loop goes on.
    Checkpoints, which sync the disk, run on that thread too; the loop's connection never
    checkpoints by itself.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._on_loop: sqlite3.Connection | None = None
        self._on_thread: sqlite3.Connection | None = None
        self._closed = False
        self._rows_since_checkpoint = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._loop_connection()
        changes_before = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # any kind of busy
                raise
            loop = asyncio.get_running_loop()
            result, changed = await loop.run_in_executor(self.executor, self._run_waiting, work)
        else:
            result = _commit(conn, work)
            changed = conn.total_changes - changes_before
        self._rows_since_checkpoint += changed
        return result

    @property
    def checkpoint_due(self) -> bool:
        return self._rows_since_checkpoint >= CHECKPOINT_AFTER_ROWS

    async def checkpoint(self) -> None:
        self._rows_since_checkpoint = 0
        await asyncio.get_running_loop().run_in_executor(self.executor, self._checkpoint)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._on_loop is not None:
                self._on_loop.close()
            await asyncio.get_running_loop().run_in_executor(self.executor, self._close_thread)
            self.executor.shutdown()

    def _run_waiting(self, work: Callable[[sqlite3.Connection], T]) -> tuple[T, int]:
        conn = self._thread_connection()
        changes_before = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for the lock
        return _commit(conn, work), conn.total_changes - changes_before

    def _checkpoint(self) -> None:
        self._thread_connection().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _close_thread(self) -> None:
        if self._on_thread is not None:
            self._on_thread.close()

    def _loop_connection(self) -> sqlite3.Connection:
        if self._on_loop is None:
            self._on_loop = self._connect(busy_timeout_ms=0)
        return self._on_loop

    def _thread_connection(self) -> sqlite3.Connection:
        if self._on_thread is None:
            self._on_thread = self._connect(busy_timeout_ms=30_000)
        return self._on_thread

    def _connect(self, *, busy_timeout_ms: int) -> sqlite3.Connection:
        # Autocommit mode: `run` says where each transaction begins and ends. (The database's
        # folder was made with the engine.)
        conn = sqlite3.connect(self._path, isolation_level=None)
        _configure_sqlite(conn, None)
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn


def _commit(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Finish the transaction `conn` has begun: `work`, then commit, or roll back on error."""
    try:
        result = work(conn)
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return result


def _create_engine(url: str, *, echo: bool, is_sqlite: bool) -> AsyncEngine:
    """The engine; its errors' text and `echo`'s lines never show a statement's parameters,
    which are stored values: message text, end-user ids, hashes (T-105)."""
    if not is_sqlite:
        return create_async_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # No rollback when a connection returns to the pool: every transaction here ends itself
    # (commit, or rollback on error or close), and on SQLite each call is a hop to aiosqlite's
    # thread that a busy event loop answers late.
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": 30},
        pool_reset_on_return=None,
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
