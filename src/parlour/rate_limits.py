"""Named rate rules ("30/minute") counted with the `limits` library, in memory or in Redis: chat
message and frame rates, login attempts, assistant token budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from parlour.shared_redis import unavailable_on_failure


class RateLimits:
    """Named rate rules ("30/minute"), counted per identifiers such as (tenant, end user).

    Rules named in `local` count in this process whatever the storage: what they count lives
    on one node (a connection's frames), so sharing it would only add a round trip per frame.
    They count in fixed windows, at half the cost of the sliding counter the shared rules use:
    such a rule guards one socket against a flood, checked on every frame, and a window's edge
    letting through up to twice the rate for a moment does not matter at that scale.

    A rule that cannot be counted (Redis unreachable) raises `Unavailable`: nothing is let
    through uncounted, and the caller answers in its own transport's way.
    """

    def __init__(
        self,
        rules: dict[str, str],
        storage_uri: str = "async+memory://",
        *,
        local: Sequence[str] = (),
        **options: Any,
    ) -> None:
        self._rules: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in rules.items()}
        shared = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri, **options))
        in_process = FixedWindowRateLimiter(storage_from_string("async+memory://"))
        self._limiters = {name: in_process if name in local else shared for name in rules}

    async def allow(self, rule: str, *identifiers: str, cost: int = 1) -> bool:
        """Count `cost` against the rule, or refuse (counting nothing) if it would not fit."""
        with unavailable_on_failure("Rate limiting"):
            return await self._limiters[rule].hit(self._rules[rule], rule, *identifiers, cost=cost)

    async def room_for(self, rule: str, *identifiers: str, cost: int) -> bool:
        """Whether `cost` would fit now, counting nothing."""
        with unavailable_on_failure("Rate limiting"):
            return await self._limiters[rule].test(self._rules[rule], rule, *identifiers, cost=cost)
