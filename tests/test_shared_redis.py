"""Redis reached over a Unix socket (`unix://`), as deploy/compose.yaml runs it: the shared pool,
the broker's client and the rate limits all connect, against a real redis-server this test
starts on a socket of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from parlour.rate_limits import RateLimits
from parlour.services import _limits_uri
from parlour.settings import RedisSettings
from parlour.shared_redis import broker_client, shared_pool
from tests.support.servers import ChildProcess

START_TIMEOUT_SECONDS = 10.0


@pytest.fixture
def unix_redis(tmp_path: Path) -> Iterator[str]:
    socket = tmp_path / "redis.sock"
    command = ["redis-server", "--port", "0", "--unixsocket", str(socket), "--save", ""]
    server = ChildProcess([*command, "--appendonly", "no", "--dir", str(tmp_path)], {}, "redis")
    try:
        server.wait_for("eady to accept connections", START_TIMEOUT_SECONDS)
        yield f"unix://{socket}"
    finally:
        server.process.terminate()
        server.process.wait(timeout=START_TIMEOUT_SECONDS)


async def test_the_shared_pool_and_the_brokers_client_connect_over_a_unix_socket(
    unix_redis: str,
) -> None:
    settings = RedisSettings(url=unix_redis)
    shared = Redis.from_pool(shared_pool(settings))
    broker = broker_client(settings)
    try:
        assert await shared.ping()
        assert await broker.ping()
    finally:
        await shared.aclose()
        await broker.aclose()


async def test_rate_limits_count_in_redis_over_a_unix_socket(unix_redis: str) -> None:
    pool = shared_pool(RedisSettings(url=unix_redis))
    limits = RateLimits(
        {"rule": "2/minute"},
        _limits_uri(unix_redis),
        implementation="redispy",
        key_prefix="test:limits",
        connection_pool=pool,
    )
    try:
        assert [await limits.allow("rule", "someone") for _ in range(3)] == [True, True, False]
    finally:
        await pool.aclose()
