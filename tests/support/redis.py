"""Redis for tests: the local server (PARLOUR_TEST_REDIS_URL), a fresh key prefix per test, and
every key under it removed afterwards. With CI=true an unreachable server fails the run."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("PARLOUR_TEST_REDIS_URL", DEFAULT_REDIS_URL)


async def reachable_prefix() -> AsyncIterator[str]:
    client = Redis.from_url(redis_url())
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        message = f"Redis unavailable at {redis_url()}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    prefix = f"parlour-test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
