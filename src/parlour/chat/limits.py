"""Caps on a chat gateway's concurrent connections per address, organisation and end user (T-25),
in this process or shared through Redis. Message and frame rates are `parlour.rate_limits`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from parlour.errors import RateLimited
from parlour.shared_redis import FAILURES, unavailable_on_failure
from parlour.tasks import detached

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cap:
    key: tuple[str, ...]
    limit: int


class TooManyConnections(RateLimited):
    code = "too_many_connections"
    default_message = "Too many open connections; close one and try again."


class ConnectionCaps:
    """Counts open connections in this process (the embedded profile)."""

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def __init__(self) -> None:
        self._open: Counter[tuple[str, ...]] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, caps: Sequence[Cap]) -> AsyncIterator[None]:
        """Count one more connection under every cap for as long as the block runs, or refuse
        at once if any cap is full."""
        if any(self._open[cap.key] >= cap.limit for cap in caps):
            raise TooManyConnections()
        for cap in caps:
            self._open[cap.key] += 1
        try:
            yield
        finally:
            for cap in caps:
                self._open[cap.key] -= 1
                if self._open[cap.key] <= 0:
                    del self._open[cap.key]


class Caps(Protocol):
    def hold(self, caps: Sequence[Cap]) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


# Claim a place under every cap at once, or none: expired leases (of nodes that died) are dropped
# first, then each cap's count is checked, then the connection is added to all of them.
_ACQUIRE = """
local now, expiry, member, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[4 + i]) then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, expiry, member)
  -- The set itself outlives its newest lease (relative, so no node's clock decides it).
  redis.call('PEXPIRE', key, lease_ms)
end
return 1
"""


class RedisConnectionCaps:
    """Connection counts shared by every node. Each open connection is a lease in a sorted set
    per cap, renewed by its node while it lives; a crashed node's leases lapse on their own.

    A lease whose release fails (Redis restarting, say) is not left to lapse: it stops being
    renewed and its release is retried every second until it succeeds, so a closed connection
    never counts against its caps for long."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        lease_seconds: float = 60.0,
        release_retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._prefix = f"{prefix}:conns:"
        self._lease = lease_seconds
        self._release_retry = release_retry_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._held: dict[str, list[str]] = {}
        self._unreleased: dict[str, list[str]] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._releaser: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever())

    @property
    def unreleased(self) -> int:
        """Leases of closed connections whose release is still to be retried."""
        return len(self._unreleased)

    @contextlib.asynccontextmanager
    async def hold(self, caps: Sequence[Cap]) -> AsyncIterator[None]:
        member = secrets.token_hex(12)
        keys = [self._prefix + ":".join(cap.key) for cap in caps]
        now = self._clock()
        try:
            with unavailable_on_failure("Counting connections"):
                granted = await self._acquire(
                    keys=keys,
                    args=[
                        now,
                        now + self._lease,
                        member,
                        int(self._lease * 1000),
                        *(cap.limit for cap in caps),
                    ],
                )
        except BaseException:
            # The lease may have been granted before the reply was lost: take it back.
            self._retry_release({member: keys})
            raise
        if not granted:
            raise TooManyConnections()
        self._held[member] = keys
        try:
            yield
        finally:
            del self._held[member]
            await self._release({member: keys})

    async def _release(self, leases: dict[str, list[str]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for member, keys in leases.items():
                    for key in keys:
                        pipe.zrem(key, member)
                await pipe.execute()
        except FAILURES:
            self._retry_release(leases)
        except asyncio.CancelledError:
            self._retry_release(leases)  # it may not have gone out
            raise

    def _retry_release(self, leases: dict[str, list[str]]) -> None:
        self._unreleased.update(leases)
        if self._releaser is None and not self._closed:
            self._releaser = detached(self._release_unreleased(), name="lease releaser")

    async def _release_unreleased(self) -> None:
        try:
            while self._unreleased:
                await asyncio.sleep(self._release_retry)
                leases, self._unreleased = self._unreleased, {}
                await self._release(leases)
                if self._unreleased:
                    log.warning(
                        "%d connection leases not released yet; retrying", len(self._unreleased)
                    )
        finally:
            self._releaser = None

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            expiry = self._clock() + self._lease
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for member, keys in list(self._held.items()):
                        for key in keys:
                            pipe.zadd(key, {member: expiry}, xx=True)
                            pipe.pexpire(key, int(self._lease * 1000))
                    await pipe.execute()
            except FAILURES:
                log.warning("could not renew connection leases; retrying")

    async def aclose(self) -> None:
        self._closed = True
        for task in (self._renewer, self._releaser):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._unreleased:  # one last try; what still fails lapses with its lease
            leases, self._unreleased = self._unreleased, {}
            await self._release(leases)
