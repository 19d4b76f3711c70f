"""Remembering which token ids have been used, so a token opens one session only (RFC 8725 §3.10
on replay, T-15): in the database on the embedded profile, or in Redis, shared by every node,
when scaled out. Either way the memory outlives a restart of the node (T-04: a used visitor token
must not reopen its visitor's conversation after one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

from parlour.crypto.digest import sha256_hex
from parlour.keys.repository import UsedTokenRepository
from parlour.shared_redis import unavailable_on_failure
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

# Expired rows go once this many new ones have been written by this node: the table holds about
# one token lifetime of handshakes, and no handshake pays for a sweep of its own.
PRUNE_EVERY = 1000


class ReplayCache(Protocol):
    async def first_use(self, tenant_id: str, token_id: str, until: datetime) -> bool:
        """True the first time this token id is presented, False on any later use before
        `until` (the token's expiry, leeway included)."""
        ...


class DatabaseReplayCache:
    """The embedded profile's: one row per used token id, claimed with an insert that fails
    on a live row (so two sockets racing with one token cannot both win)."""

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, prune_every: int = PRUNE_EVERY
    ) -> None:
        self._db = db
        self._clock = clock
        self._prune_every = prune_every
        self._since_prune = 0

    async def first_use(self, tenant_id: str, token_id: str, until: datetime) -> bool:
        now = self._clock()
        self._since_prune += 1
        prune = self._since_prune >= self._prune_every
        if prune:
            self._since_prune = 0
        async with self._db.transaction(tenant_id) as conn:
            repository = UsedTokenRepository(conn)
            if prune:
                await repository.forget_expired(now)
            # Token ids are the issuer's choice of length; rows keep a fixed-size digest.
            return await repository.claim(tenant_id, sha256_hex(token_id), now=now, until=until)


class RedisReplayCache:
    """Shared by every node: SET NX with the token's remaining lifetime. It holds across a
    restart of a node; across a restart of Redis only if Redis keeps its data (README).
    Unreachable, it raises `Unavailable`: no token is taken as unused when that cannot be
    known."""

    def __init__(self, redis: Redis, *, prefix: str, clock: Clock = utcnow) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:jti:"
        self._clock = clock

    async def first_use(self, tenant_id: str, token_id: str, until: datetime) -> bool:
        remaining_ms = int((until - self._clock()).total_seconds() * 1000)
        with unavailable_on_failure("Checking the token"):
            stored = await self._redis.set(
                f"{self._prefix}{tenant_id}:{token_id}", b"1", nx=True, px=max(1_000, remaining_ms)
            )
        return bool(stored)
