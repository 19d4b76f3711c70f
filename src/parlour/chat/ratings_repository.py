"""SQL for customers' ratings of resolved conversations (chat/ratings.py); reports read them
through their own repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import conversation_ratings, conversations


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a rating needs of its conversation: its status, when it was resolved, by whom."""

    end_user_id: str
    status: str
    resolved_at: datetime | None
    agent_id: str | None


class RatingRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def resolution(
        self, tenant_id: str, conversation_id: str, *, lock: bool = True
    ) -> Resolution | None:
        """Its resolution; `lock`ed (on PostgreSQL) until the transaction ends, so a rating is
        stored against the resolution it read."""
        c = conversations.c
        query = select(
            c.end_user_id, c.status, c.resolved_at, c.assignee, c.human_account_id
        ).where(c.tenant_id == tenant_id, c.conversation_id == conversation_id)
        row = (await self._conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return None
        return Resolution(row[0], row[1], row[2], row[3] or row[4])

    async def rated(self, tenant_id: str, conversation_id: str, resolved_at: datetime) -> bool:
        r = conversation_ratings.c
        found = await self._conn.execute(
            select(r.rating_id).where(
                r.tenant_id == tenant_id,
                r.conversation_id == conversation_id,
                r.resolved_at == resolved_at,
            )
        )
        return found.first() is not None

    async def insert(
        self,
        tenant_id: str,
        conversation_id: str,
        resolved_at: datetime,
        *,
        rating_id: str,
        score: int,
        comment_sealed: bytes | None,
        agent_id: str | None,
        at: datetime,
    ) -> None:
        await self._conn.execute(
            insert(conversation_ratings).values(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                resolved_at=resolved_at,
                score=score,
                comment_sealed=comment_sealed,
                agent_id=agent_id,
                rated_at=at,
                rating_id=rating_id,
            )
        )

    async def of_conversation(
        self, tenant_id: str, conversation_id: str
    ) -> list[tuple[str, int, bytes | None, str | None, datetime, datetime]]:
        """Its ratings, oldest first: id, score, sealed comment, member, resolved and rated at."""
        r = conversation_ratings.c
        rows = await self._conn.execute(
            select(r.rating_id, r.score, r.comment_sealed, r.agent_id, r.resolved_at, r.rated_at)
            .where(r.tenant_id == tenant_id, r.conversation_id == conversation_id)
            .order_by(r.rated_at, r.rating_id)
        )
        return [(row[0], int(row[1]), row[2], row[3], row[4], row[5]) for row in rows]
