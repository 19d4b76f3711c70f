"""Token budgets (T-74): per conversation, per end user and per tenant, counted with the
`limits` library (in memory, or in Redis when nodes share limits).

A turn reserves its worst case before the model is called: the prompt's estimate plus the most
it may write. Nothing is refunded, so a budget can only be under-spent, never overrun; what a
turn really used is recorded with the turn, for the tenant's bill.
"""

from __future__ import annotations

from parlour.rate_limits import RateLimits

RULES = ("tokens_per_conversation", "tokens_per_end_user", "tokens_per_tenant")


class Budgets:
    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits

    async def reserve(
        self, tenant_id: str, end_user_id: str, conversation_id: str, tokens: int
    ) -> str | None:
        """Reserve `tokens` in every budget, or name the first budget it does not fit."""
        scopes = {
            "tokens_per_conversation": (tenant_id, conversation_id),
            "tokens_per_end_user": (tenant_id, end_user_id),
            "tokens_per_tenant": (tenant_id,),
        }
        for rule, identifiers in scopes.items():
            if not await self._limits.room_for(rule, *identifiers, cost=tokens):
                return rule
        for rule, identifiers in scopes.items():
            await self._limits.allow(rule, *identifiers, cost=tokens)
        return None
