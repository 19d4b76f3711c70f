"""Databases for tests: a SQLite file per test, and one temporary PostgreSQL database per run.

PostgreSQL comes from PARLOUR_TEST_POSTGRES_URL (default: the local server's `test` database,
used only to create and drop the temporary one, and the application's role). Parlour connects
to the temporary database as that role, which owns it and is held to row-level security. With
CI=true an unreachable server fails the run instead of skipping, so a green CI always includes
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://127.0.0.1:5432/test"
# The role Parlour's connections use in tests (trust authentication on the test server).
APP_ROLE = "parlour_app"


def postgres_admin_url() -> str:
    return os.environ.get("PARLOUR_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


async def _admin(statement: str) -> None:
    engine = create_async_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def temporary_postgres_database() -> Iterator[str]:
    name = _new_name()
    try:
        asyncio.run(asyncio.wait_for(_create(name), timeout=10))
    except Exception as exc:
        unavailable(f"{type(exc).__name__}: {exc}")
    try:
        yield _url_of(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.asynccontextmanager
async def new_postgres_database() -> AsyncIterator[str]:
    """A fresh database on the local PostgreSQL for the caller's running loop (benchmarks)."""
    name = _new_name()
    await asyncio.wait_for(_create(name), timeout=10)
    try:
        yield _url_of(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _create(name: str) -> None:
    """A database owned by the application's role, a plain one: a superuser, or a role that
    bypasses row-level security, would pass through the wall T-31 tests."""
    await _admin(
        "DO $$ BEGIN "
        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    await _admin(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')


@contextlib.asynccontextmanager
async def kept_postgres_database(name: str) -> AsyncIterator[str]:
    """A database on the local PostgreSQL that outlives the run (a benchmark's seeded data,
    reused by its next run): created if missing, never dropped."""
    await asyncio.wait_for(
        _admin(
            "DO $$ BEGIN "
            f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ),
        timeout=10,
    )
    engine = create_async_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}'))
    finally:
        await engine.dispose()
    yield _url_of(name)


def _new_name() -> str:
    return f"parlour_test_{secrets.token_hex(6)}"


def _url_of(name: str) -> str:
    url = make_url(postgres_admin_url()).set(database=name, username=APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)
