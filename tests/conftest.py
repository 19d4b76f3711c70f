"""Fixtures shared by every test: settings, databases, services and real servers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from parlour.app import create_app
from parlour.services import Services, build_services
from parlour.settings import (
    CryptoSettings,
    DatabaseSettings,
    Environment,
    GatewaySettings,
    ServerSettings,
    Settings,
)
from parlour.storage.database import Database
from parlour.storage.migrate import migrate
from tests.support.databases import temporary_postgres_database
from tests.support.servers import ThreadedServer, start_threaded

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def make_settings(
    data_dir: Path,
    *,
    database_url: str | None = None,
    public_url: str = "http://127.0.0.1:8000",
    auth_timeout: float = 5.0,
    master_key: str | None = None,
) -> Settings:
    return Settings(
        environment=Environment.TEST,
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        server=ServerSettings(public_url=public_url),
        gateway=GatewaySettings(auth_timeout_seconds=auth_timeout),
        crypto=CryptoSettings(master_key=master_key or new_master_key()),
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this test run."""
    for url in temporary_postgres_database():
        asyncio.run(_migrate(url))
        yield url


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await migrate(db)
    finally:
        await db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'parlour.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Each backend in turn: a fresh SQLite file, or the run's PostgreSQL database."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return sqlite_url


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Migrated services on a fresh SQLite database, for tests that need no server."""
    built = build_services(make_settings(tmp_path, database_url=sqlite_url))
    await built.migrate()
    yield built
    await built.aclose()


class Stack:
    """A real server and, beside it, services on the same database and keys, for seeding data
    the way an operator's CLI would."""

    def __init__(self, server: ThreadedServer, services: Services, app: FastAPI) -> None:
        self.server = server
        self.services = services
        self.app = app
        self.url = server.url
        self.ws_url = server.ws_url


@contextlib.asynccontextmanager
async def running_stack(
    tmp_path: Path, database_url: str, *, auth_timeout: float = 5.0
) -> AsyncIterator[Stack]:
    master_key = new_master_key()

    def make(url: str) -> tuple[FastAPI, Settings]:
        settings = make_settings(
            tmp_path,
            database_url=database_url,
            public_url=url,
            auth_timeout=auth_timeout,
            master_key=master_key,
        )
        return create_app(settings), settings

    server = start_threaded(make)
    settings, app = server.settings, server.app
    assert settings is not None
    seeding = build_services(settings)
    try:
        yield Stack(server, seeding, app)
    finally:
        await seeding.aclose()
        server.stop()


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, sqlite_url) as running:
        yield running
