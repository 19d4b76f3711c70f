"""Connection leases shared through Redis (T-25) when Redis fails under them, on a redis-server of
the test's own that it freezes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from parlour.chat.limits import Cap, RedisConnectionCaps
from parlour.errors import Unavailable
from parlour.settings import RedisSettings
from parlour.shared_redis import shared_pool
from tests.support.redis import OwnRedis, key_changes, own_redis

CAP = [Cap(("user", "tenant", "customer-1"), 1)]


@contextlib.asynccontextmanager
async def leases(server: OwnRedis) -> AsyncIterator[RedisConnectionCaps]:
    # Short timeouts: a frozen server fails calls in a fifth of a second.
    settings = RedisSettings(url=server.url, timeout_seconds=0.2, pool_timeout_seconds=0.2)
    redis = Redis.from_pool(shared_pool(settings))
    caps = RedisConnectionCaps(redis, prefix="test", release_retry_seconds=0.1)
    try:
        yield caps
    finally:
        server.resume()
        await caps.aclose()
        await redis.aclose()


async def test_t25_a_lease_whose_release_fails_is_released_once_redis_answers_again(
    tmp_path: Path,
) -> None:
    """T-25: Redis is down as a connection closes, and restarts with the lease it had stored.
    The failed release raises nothing into the closing connection; it is retried, and frees the
    place as soon as Redis answers, instead of counting against the cap until the lease lapses
    (a minute)."""
    with own_redis(tmp_path, persistent=True) as server:
        async with leases(server) as caps:
            async with caps.hold(CAP):
                server.stop()
            assert caps.unreleased == 1
            server.start()
            admin = Redis.from_url(server.url)
            key = "test:conns:user:tenant:customer-1"

            async def released() -> bool:
                return await admin.zcard(key) == 0

            # The restarted server has the lease back from its append-only file until the
            # retried release removes it.
            async with key_changes(server, key) as changes:
                await changes.until(released, timeout=10)
            await admin.aclose()
            async with caps.hold(CAP):
                pass  # the cap of one admits again


async def test_t25_a_lease_that_cannot_be_taken_is_unavailable_not_an_error(
    tmp_path: Path,
) -> None:
    """T-25: with Redis unreachable, taking a lease raises `Unavailable` (the gateway answers it
    with 503 or 1013), never redis-py's own error."""
    with own_redis(tmp_path) as server:
        async with leases(server) as caps:
            server.stop()
            with pytest.raises(Unavailable):
                async with caps.hold(CAP):
                    pass
