"""The moments of a conversation's life that reports read (issue 21): when it was handed to
people, when a person first answered and who, when it was resolved, and how the assistant's
last turn ended. Kept on the conversation's row as they happen, so that reports count and time
conversations without reading, let alone unsealing, a message (T-103).

The handover and the resolution are set by the moves that make them, in their compare-and-set
(`repository.move_statement`, so a resolution and a reopening racing each other leave the moment
of whichever came last); here, the first reply, set by the desk, and the turn's outcome, by the
assistant, each in its own transaction. A first moment is kept (COALESCE); the latest outcome
and resolution replace the earlier ones, and reopening clears the resolution (a reopened
conversation is not resolved until it is again). A conversation is an end user's thread for
life, so its moments with people are those of its latest episode: a move into people's hands
after a resolution starts a new one (handed_at is that move's time; the first reply, who gave it
and the resolution are cleared).

`human_account_id` stays the person who first answered, not the assignee: reports credit the
first response to whoever gave it, whoever the conversation was assigned to before or after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import conversations

c = conversations.c


class MilestoneRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

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

    async def turn_ended(self, tenant_id: str, conversation_id: str, outcome: str) -> None:
        await self._set(tenant_id, conversation_id, last_turn_outcome=outcome)

    async def _set(self, tenant_id: str, conversation_id: str, **values: object) -> None:
        await self._conn.execute(
            update(conversations)
            .where(c.tenant_id == tenant_id, c.conversation_id == conversation_id)
            .values(**values)
        )
