"""Fixtures shared by every test: settings, databases, services and real servers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from fastapi import FastAPI
from opentelemetry.trace import TracerProvider

from parlour import logs
from parlour.app import create_app
from parlour.assistant.tools import ToolSource
from parlour.services import Services, build_services
from parlour.settings import (
    AssistantSettings,
    CryptoSettings,
    DatabaseSettings,
    EgressSettings,
    Environment,
    GatewaySettings,
    IdentitySettings,
    RedisSettings,
    ServerSettings,
    Settings,
    TokenSettings,
)
from parlour.storage.database import Database
from parlour.storage.migrate import migrate
from parlour.storage.types import Clock, utcnow
from tests.support import canaries
from tests.support.databases import temporary_postgres_database
from tests.support.dns import dns_server
from tests.support.redis import reachable_prefix
from tests.support.servers import ThreadedServer, start_threaded

T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_master_key() -> str:
    return canaries.register(base64.b64encode(secrets.token_bytes(32)).decode())


@pytest.fixture(scope="session", autouse=True)
def logs_never_hold_secrets() -> Iterator[None]:
    """T-27, T-89: every log line of the whole run (this process, its server threads and the
    `parlour serve` children) is checked for every token, key and canary the tests used, as
    `parlour serve` writes it (a security event's fields included)."""
    handler = canaries.CapturingHandler()
    handler.setFormatter(logs.formatter("json"))
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.access")]
    for logger in loggers:
        logger.addHandler(handler)
    yield
    for logger in loggers:
        logger.removeHandler(handler)
    assert canaries.leaks() == []


def make_settings(
    data_dir: Path,
    *,
    database_url: str | None = None,
    public_url: str = "http://127.0.0.1:8000",
    auth_timeout: float = 5.0,
    master_key: str | None = None,
    previous_master_keys: tuple[str, ...] = (),
    environment: Environment = Environment.TEST,
    trusted_proxies: tuple[str, ...] = (),
    gateway: dict[str, object] | None = None,
    tokens: dict[str, object] | None = None,
    assistant: dict[str, object] | None = None,
    egress_allowed_networks: tuple[str, ...] = ("127.0.0.0/8",),
    redis: RedisSettings | None = None,
    identity: IdentitySettings | None = None,
) -> Settings:
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        server=ServerSettings(public_url=public_url, trusted_proxies=list(trusted_proxies)),
        gateway=GatewaySettings(auth_timeout_seconds=auth_timeout, **(gateway or {})),  # type: ignore[arg-type]
        tokens=TokenSettings(**(tokens or {})),  # type: ignore[arg-type]
        assistant=AssistantSettings(**(assistant or {})),  # type: ignore[arg-type]
        # Production must relay mail; the production stacks of these tests never send any.
        identity=identity
        or IdentitySettings(
            smtp_host="127.0.0.1" if environment is Environment.PRODUCTION else None
        ),
        crypto=CryptoSettings(
            master_key=master_key or new_master_key(),
            previous_master_keys=list(previous_master_keys),
        ),
        # Tenants' hosts resolve through the tests' own DNS server, and the sites that prove
        # them are served on loopback, which production would refuse to connect to.
        egress=EgressSettings(
            nameservers=[dns_server().nameserver],
            allowed_networks=list(egress_allowed_networks),
            timeout_seconds=2.0,
        ),
        redis=redis or RedisSettings(),
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


@contextlib.asynccontextmanager
async def migrated_services(
    tmp_path: Path,
    database_url: str,
    *,
    assistant: dict[str, object] | None = None,
    tools: ToolSource | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[Services]:
    settings = make_settings(tmp_path, database_url=database_url, assistant=assistant)
    built = build_services(settings, tools=tools, clock=clock)
    await built.migrate()
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Migrated services on a fresh SQLite database, for tests that need no server."""
    async with migrated_services(tmp_path, sqlite_url) as built:
        yield built


class Stack:
    """A real server and, beside it, services on the same database and keys, for seeding data
    the way an operator's CLI would."""

    def __init__(self, server: ThreadedServer, services: Services, app: FastAPI) -> None:
        self.server = server
        self.services = services
        self.app = app
        self.url = server.url
        self.ws_url = server.ws_url

    async def on_the_server(
        self, call: Callable[[Services], Awaitable[T]], timeout: float = 10.0
    ) -> T:
        """Run `call` with the server's own services, on its loop: its broker is the one its
        sockets hear (the services beside it share only the database and keys)."""
        services: Services = self.app.state.services
        loop = self.server.server.servers[0].get_loop()
        future = asyncio.run_coroutine_threadsafe(_awaited(call(services)), loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


@contextlib.asynccontextmanager
async def running_stack(
    tmp_path: Path,
    database_url: str,
    *,
    auth_timeout: float = 5.0,
    environment: Environment = Environment.TEST,
    trusted_proxies: tuple[str, ...] = (),
    gateway: dict[str, object] | None = None,
    tokens: dict[str, object] | None = None,
    assistant: dict[str, object] | None = None,
    redis: RedisSettings | None = None,
    clock: Clock = utcnow,
    tracer_provider: TracerProvider | None = None,
    identity: IdentitySettings | None = None,
    master_key: str | None = None,
) -> AsyncIterator[Stack]:
    """A real server; `master_key` another node's, for two nodes on one database."""
    master_key = master_key or new_master_key()

    def make(url: str) -> tuple[FastAPI, Settings]:
        if environment is Environment.PRODUCTION:
            url = url.replace("http://", "https://")  # as published behind a TLS proxy
        settings = make_settings(
            tmp_path,
            database_url=database_url,
            public_url=url,
            auth_timeout=auth_timeout,
            master_key=master_key,
            environment=environment,
            trusted_proxies=trusted_proxies,
            gateway=gateway,
            tokens=tokens,
            assistant=assistant,
            redis=redis,
            identity=identity,
        )
        return create_app(settings, clock=clock, tracer_provider=tracer_provider), settings

    server = start_threaded(make)
    settings, app = server.settings, server.app
    assert settings is not None
    seeding = build_services(settings, clock=clock)  # the same time as the server's
    try:
        yield Stack(server, seeding, app)
    finally:
        await seeding.aclose()
        server.stop()


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, sqlite_url) as running:
        yield running


@pytest.fixture
async def backend(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Migrated services on each backend in turn (SQLite, then PostgreSQL)."""
    async with migrated_services(tmp_path, database_url) as built:
        yield built


@pytest.fixture(params=BACKENDS)
def lone_database_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """Each backend in turn, on a database no other test writes to: for what a whole deployment
    shares (the platform's audit chain), which other tests, each with a master key of its own,
    would otherwise have signed too."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    for url in temporary_postgres_database():
        asyncio.run(_migrate(url))
        yield url


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the local Redis; its keys are removed afterwards."""
    async for prefix in reachable_prefix():
        yield prefix
