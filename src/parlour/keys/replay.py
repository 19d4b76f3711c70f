"""Remembering which token ids have been used, so a token opens one session only (RFC 8725 §3.10
on replay): in this process for the embedded profile, or shared (Redis) when scaled out."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

from parlour.shared_redis import unavailable_on_failure


class ReplayCache(Protocol):
    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        """True the first time `key` is seen within `ttl_seconds`, False after."""
        ...


class InProcessReplayCache:
    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        self._seen: dict[str, float] = {}
        self._max_entries = max_entries

    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        now = time.monotonic()
        if len(self._seen) >= self._max_entries or len(self._seen) % 1024 == 0:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
        until = self._seen.get(key)
        if until is not None and until > now:
            return False
        self._seen[key] = now + ttl_seconds
        return True


class RedisReplayCache:
    """Shared by every node: SET NX with the token's remaining lifetime. Unreachable, it
    raises `Unavailable`: no token is taken as unused when that cannot be known."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:jti:"

    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        with unavailable_on_failure("Checking the token"):
            stored = await self._redis.set(
                self._prefix + key, b"1", nx=True, px=max(1, int(ttl_seconds * 1000))
            )
        return bool(stored)
