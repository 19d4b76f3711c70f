"""What the platform's operator sees of every organisation (issue 21): its verification state,
its volumes and its error rates over the last days, read from the report counts, never from
what an organisation or its customers wrote. Platform roles only (the dashboard's operator
page checks the role)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from parlour.rollups.models import Figure
from parlour.rollups.repository import CountRepository
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.models import Tenant
from parlour.tenants.repository import TenantRepository

FIGURES = (
    Figure.CONVERSATIONS_STARTED,
    Figure.MESSAGES,
    Figure.TURNS,
    Figure.TOKEN_FAILURES,
    Figure.WEBHOOK_FAILURES,
)
# Turns that did not end as the organisation configured them: the model failed or timed out.
FAILED_TURNS = frozenset({"fallback"})
BLOCKED_TURNS = frozenset({"blocked"})
# The most organisations weighed at once: a read names each of them for row-level security.
READ = 5_000


@dataclass(frozen=True, slots=True)
class OrganisationActivity:
    tenant: Tenant
    conversations: int
    messages: int
    turns: int
    failed_turns: int
    blocked_turns: int
    token_failures: int
    webhook_failures: int

    @property
    def failed_turn_rate(self) -> float | None:
        return self.failed_turns / self.turns if self.turns else None


class PlatformActivity:
    def __init__(self, db: Database, tally: Tally, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._tally = tally
        self._clock = clock

    async def organisations(
        self, *, days: int, shown: int = 200
    ) -> tuple[list[OrganisationActivity], int]:
        """The `shown` busiest organisations (by messages) with their last `days` of figures,
        the busiest first, and how many organisations there are. Up to READ organisations are
        weighed, the oldest first."""
        await self._tally.refresh()
        async with self._db.read() as conn:
            organisations = await TenantRepository(conn).list_all(READ)
        ids = [t.tenant_id for t in organisations]
        # Row-level security shows report counts only to a transaction naming their tenants.
        async with self._db.read(*ids) as conn:
            totals = await CountRepository(conn).totals(
                ids, FIGURES, self._clock() - timedelta(days=days)
            )

        by_tenant: dict[str, Counter[tuple[Figure, str]]] = {t: Counter() for t in ids}
        for (tenant_id, figure, detail), value in totals.items():
            by_tenant[tenant_id][(figure, detail)] += value
        activity = [_activity(t, by_tenant[t.tenant_id]) for t in organisations]
        busiest = sorted(activity, key=lambda a: a.messages, reverse=True)
        return busiest[:shown], len(organisations)


def _activity(tenant: Tenant, counts: Counter[tuple[Figure, str]]) -> OrganisationActivity:
    def total(figure: Figure, details: frozenset[str] | None = None) -> int:
        return sum(
            value
            for (f, d), value in counts.items()
            if f is figure and (details is None or d in details)
        )

    return OrganisationActivity(
        tenant=tenant,
        conversations=total(Figure.CONVERSATIONS_STARTED),
        messages=total(Figure.MESSAGES),
        turns=total(Figure.TURNS),
        failed_turns=total(Figure.TURNS, FAILED_TURNS),
        blocked_turns=total(Figure.TURNS, BLOCKED_TURNS),
        token_failures=total(Figure.TOKEN_FAILURES),
        webhook_failures=total(Figure.WEBHOOK_FAILURES),
    )
