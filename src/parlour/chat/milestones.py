"""The moments of a conversation's life that reports read (issue 21): when it was handed to
people, when a person first answered and who, when it was resolved, and how the assistant's
last turn ended. Kept on the conversation's row as they happen, so that reports count and time
conversations without reading, let alone unsealing, a message (T-103).

Each moment is set by the use case it belongs to, in its own transaction: the chat's move to
the queue, the desk's reply and return, the assistant's turn record. A conversation is an end
user's thread for life, so its moments with people are those of its latest episode: a handover
after a resolution starts a new one (handed_at is the new handover; the first reply, who gave
it and the resolution are cleared). Within an episode a first moment is kept (COALESCE); the
latest outcome and resolution replace the earlier ones. The live desk (issue 22) makes episodes
explicit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, null, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import conversations

c = conversations.c


class MilestoneRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def handed(self, tenant_id: str, conversation_id: str, at: datetime) -> None:
        """Handed to people: the episode's first handover, or a new episode's after the last
        one was resolved (its moments replace the last episode's)."""
        again = c.resolved_at.is_not(None)
        await self._set(
            tenant_id,
            conversation_id,
            handed_at=case((again, at), else_=func.coalesce(c.handed_at, at)),
            first_human_reply_at=case((again, null()), else_=c.first_human_reply_at),
            human_account_id=case((again, null()), else_=c.human_account_id),
            resolved_at=null(),
        )

    async def answered_by_person(
        self, tenant_id: str, conversation_id: str, account_id: str, at: datetime
    ) -> None:
        await self._set(
            tenant_id,
            conversation_id,
            handed_at=func.coalesce(c.handed_at, at),
            first_human_reply_at=func.coalesce(c.first_human_reply_at, at),
            human_account_id=func.coalesce(c.human_account_id, account_id),
        )

    async def resolved(self, tenant_id: str, conversation_id: str, at: datetime) -> None:
        await self._set(tenant_id, conversation_id, resolved_at=at)

    async def turn_ended(self, tenant_id: str, conversation_id: str, outcome: str) -> None:
        await self._set(tenant_id, conversation_id, last_turn_outcome=outcome)

    async def _set(self, tenant_id: str, conversation_id: str, **values: object) -> None:
        await self._conn.execute(
            update(conversations)
            .where(c.tenant_id == tenant_id, c.conversation_id == conversation_id)
            .values(**values)
        )
