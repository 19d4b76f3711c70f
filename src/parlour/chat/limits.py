"""Abuse limits for the chat gateway: message and frame rates (the `limits` library, in memory or
in Redis) and caps on concurrent connections per address, organisation and end user (T-25)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from parlour.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Cap:
    key: tuple[str, ...]
    limit: int


class TooManyConnections(RateLimited):
    code = "too_many_connections"
    default_message = "Too many open connections; close one and try again."


class RateLimits:
    """Named rate rules ("30/minute"), counted per identifiers such as (tenant, end user)."""

    def __init__(self, rules: dict[str, str], storage_uri: str = "async+memory://") -> None:
        self._rules: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in rules.items()}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    async def allow(self, rule: str, *identifiers: str) -> bool:
        return await self._limiter.hit(self._rules[rule], rule, *identifiers)


class ConnectionCaps:
    """Counts open connections in this process. (The scaled-out profile needs a shared count.)"""

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

    def count(self, key: tuple[str, ...]) -> int:
        return self._open[key]
