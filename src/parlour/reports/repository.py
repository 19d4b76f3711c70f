"""The SQL of reports over conversations' recorded moments (counts are rollups/repository.py,
the one home of `report_counts`). Nothing here reads a message (T-103)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.reports.models import ConversationOutcomes
from parlour.storage.dialect import gathered, integers, microseconds_between, per_span
from parlour.storage.tables import conversation_ratings, conversations, teams

c = conversations.c


@dataclass(frozen=True, slots=True)
class Handled:
    """The latest episodes with people that a person replied to, of one person and one team
    (the person who first replied, the team the conversation is in now; "" for none): how long
    each took from its handover to the first reply, and to its resolution (the resolved ones),
    in whole microseconds, in no particular order."""

    agent: str
    team: str
    first_responses: list[int]
    resolutions: list[int]


class ReportRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def outcomes(
        self, tenant_id: str, since: datetime, until: datetime
    ) -> ConversationOutcomes:
        """How the conversations started in [since, until) ended, from their moments."""
        by_assistant = and_(c.handed_at.is_(None), c.last_turn_outcome == "answered")
        by_person = c.first_human_reply_at.is_not(None)
        row = (
            await self._conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((by_assistant, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((by_person, 1), else_=0)), 0),
                ).where(c.tenant_id == tenant_id, c.created_at >= since, c.created_at < until)
            )
        ).one()
        total, assistant, person = int(row[0]), int(row[1]), int(row[2])
        return ConversationOutcomes(assistant, person, total - assistant - person)

    async def handovers(
        self, tenant_id: str, spans: Sequence[tuple[datetime, datetime]]
    ) -> dict[int, int]:
        """How many conversations were handed to people (their latest episode's handover)
        in each span [since, until) (whenever they started), by the span's index; a span with
        none may be left out."""
        rows = await self._conn.execute(
            per_span(
                self._conn,
                spans,
                c.handed_at,
                [func.count().label("handovers")],
                where=[c.tenant_id == tenant_id],
            )
        )
        return {int(n): int(handovers) for n, handovers in rows}

    async def handled(self, tenant_id: str, since: datetime, until: datetime) -> list[Handled]:
        """How long the conversations handed to people in [since, until) (their latest
        episode's handover, chat/milestones.py) that a person replied to took, grouped by the
        person who first replied and the team the conversation is in: one scan serves the
        figures per agent and per team (the service adds the groups up either way). The
        database works out the durations and gathers them per group, so a group is one row: a
        period's thousands of episodes never come back as rows, nor as many objects for
        Python's garbage collector to go through."""
        first = microseconds_between(self._conn, c.first_human_reply_at, c.handed_at)
        resolution = microseconds_between(self._conn, c.resolved_at, c.handed_at)
        rows = await self._conn.execute(
            select(
                c.human_account_id,
                c.team_id,
                gathered(self._conn, first),
                gathered(self._conn, resolution),
            )
            .where(
                c.tenant_id == tenant_id,
                c.handed_at >= since,
                c.handed_at < until,
                c.first_human_reply_at.is_not(None),
            )
            .group_by(c.human_account_id, c.team_id)
        )
        groups: dict[tuple[str, str], Handled] = {}
        for agent, team, firsts, resolutions in rows:
            key = (str(agent or ""), str(team or ""))  # no one, or an empty id: one group
            handled = groups.setdefault(key, Handled(*key, [], []))
            handled.first_responses.extend(integers(firsts))
            handled.resolutions.extend(integers(resolutions))
        return list(groups.values())

    async def team_names(self, tenant_id: str) -> dict[str, str]:
        """The organisation's teams' names, by id."""
        t = teams.c
        rows = await self._conn.execute(select(t.team_id, t.name).where(t.tenant_id == tenant_id))
        return {str(team_id): str(name) for team_id, name in rows}

    async def ratings(
        self, tenant_id: str, since: datetime, until: datetime
    ) -> list[tuple[int, str, datetime]]:
        """Customers' ratings given in [since, until): score, the member who had the
        conversation ("" for nobody), and when; never the comment."""
        r = conversation_ratings.c
        rows = await self._conn.execute(
            select(r.score, r.agent_id, r.rated_at).where(
                r.tenant_id == tenant_id, r.rated_at >= since, r.rated_at < until
            )
        )
        return [(int(row[0]), str(row[1] or ""), row[2]) for row in rows]
