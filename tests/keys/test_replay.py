"""Single use of token ids (T-15): each replay cache accepts a token id once while its token
lives, whatever node or process asks, and forgets it once the token has expired."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from parlour.keys.replay import DatabaseReplayCache, RedisReplayCache
from parlour.services import Services
from parlour.storage.tables import used_token_ids
from tests.support import seed
from tests.support.redis import redis_url


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def tenant_id(backend: Services) -> str:
    return (await seed.organisation(backend, faq=None)).tenant_id


async def used_rows(services: Services, tenant_id: str) -> int:
    async with services.db.read(tenant_id) as conn:
        count = select(func.count()).where(used_token_ids.c.tenant_id == tenant_id)
        return int((await conn.execute(count)).scalar_one())


async def test_a_token_id_is_accepted_once_while_its_token_lives(
    backend: Services, tenant_id: str
) -> None:
    """T-15."""
    clock = Clock()
    cache = DatabaseReplayCache(backend.db, clock=clock)
    until = clock.now + timedelta(minutes=5)
    assert await cache.first_use(tenant_id, "token-1", until)
    assert not await cache.first_use(tenant_id, "token-1", until)
    clock.now += timedelta(minutes=4, seconds=59)
    assert not await cache.first_use(tenant_id, "token-1", until)


async def test_another_process_on_the_same_database_refuses_a_used_token_id(
    backend: Services, tenant_id: str
) -> None:
    """T-15: what a restarted node sees, a new cache on the same database."""
    until = datetime.now(UTC) + timedelta(minutes=5)
    assert await DatabaseReplayCache(backend.db).first_use(tenant_id, "token-1", until)
    assert not await DatabaseReplayCache(backend.db).first_use(tenant_id, "token-1", until)


async def test_the_same_token_id_in_another_organisation_is_its_own(
    backend: Services, tenant_id: str
) -> None:
    """T-15, T-29: organisations choose their token ids; one cannot use up another's."""
    other = (await seed.organisation(backend, name="Other", faq=None)).tenant_id
    cache = DatabaseReplayCache(backend.db)
    until = datetime.now(UTC) + timedelta(minutes=5)
    assert await cache.first_use(tenant_id, "token-1", until)
    assert await cache.first_use(other, "token-1", until)


async def test_expired_token_ids_are_claimed_afresh_and_pruned_as_new_ones_arrive(
    backend: Services, tenant_id: str
) -> None:
    clock = Clock()
    cache = DatabaseReplayCache(backend.db, clock=clock, prune_every=3)
    soon = clock.now + timedelta(minutes=1)
    assert await cache.first_use(tenant_id, "a", soon)
    assert await cache.first_use(tenant_id, "b", soon)
    clock.now = soon
    # Expired: a token id past its token's life is no longer held against anyone.
    assert await cache.first_use(tenant_id, "a", clock.now + timedelta(minutes=1))
    # The third claim swept both, then claimed "a" again.
    assert await used_rows(backend, tenant_id) == 1
    assert not await cache.first_use(tenant_id, "a", clock.now + timedelta(minutes=1))


async def test_used_token_ids_go_with_their_organisation(backend: Services, tenant_id: str) -> None:
    until = datetime.now(UTC) + timedelta(minutes=5)
    assert await DatabaseReplayCache(backend.db).first_use(tenant_id, "token-1", until)
    await backend.tenants.delete(tenant_id, actor=seed.ACTOR)
    assert await used_rows(backend, tenant_id) == 0


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_a_token_id_is_accepted_once_across_nodes_sharing_redis(
    redis: Redis, redis_prefix: str
) -> None:
    """T-15: replay on another node is refused too, and Redis forgets the id with its token."""
    clock = Clock()
    clock.now = datetime.now(UTC)
    a = RedisReplayCache(redis, prefix=redis_prefix, clock=clock)
    other_node = Redis.from_url(redis_url())
    b = RedisReplayCache(other_node, prefix=redis_prefix, clock=clock)
    token_id, until = str(uuid.uuid4()), clock.now + timedelta(minutes=1)
    assert await a.first_use("tenant", token_id, until)
    assert not await b.first_use("tenant", token_id, until)
    await other_node.aclose()
    assert not await a.first_use("tenant", token_id, until)
    assert 0 < await redis.pttl(f"{redis_prefix}:jti:tenant:{token_id}") <= 60_000
