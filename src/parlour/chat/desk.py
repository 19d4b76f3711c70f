"""The agents' side of a handoff: the conversations waiting for a person or with one, and a
person's replies. Every step is audited with the person who took it, never the text (T-89)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    Actor,
    AgentReplied,
    AuditEvent,
    ConversationReturned,
    ConversationTaken,
)
from parlour.audit.service import AuditLog
from parlour.chat.milestones import MilestoneRepository
from parlour.chat.models import Author, Conversation, ConversationStatus, Message
from parlour.chat.service import ChatService
from parlour.errors import InvalidInput
from parlour.storage.database import Database

# The desk lists what a person handles; the assistant's own conversations are not its business.
DESK_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.AGENT)


class AgentDesk:
    def __init__(self, db: Database, chat: ChatService, audit: AuditLog) -> None:
        self._db = db
        self._chat = chat
        self._audit = audit

    async def conversations(
        self, tenant_id: str, status: ConversationStatus, *, limit: int
    ) -> list[Conversation]:
        """Those waiting for a person (queued) or with one (agent), the longest quiet first."""
        if status not in DESK_STATUSES:
            raise InvalidInput("list the conversations that are queued or with an agent")
        return await self._chat.with_status(tenant_id, status, limit=limit)

    async def reply(
        self, tenant_id: str, conversation_id: str, text: str, *, actor: Actor
    ) -> Message:
        """A person's message to the customer. The first one takes the conversation, from the
        queue or from the assistant, which answers no more; the customer is told a person
        joined before they read the reply."""
        body = self._chat.clean_text(text)
        taken = await self._chat.move(tenant_id, conversation_id, ConversationStatus.AGENT)
        message = await self._chat.post(tenant_id, conversation_id, author=Author.AGENT, body=body)
        events: list[AuditEvent] = [ConversationTaken(conversation_id)] if taken else []
        events.append(AgentReplied(conversation_id, message.message_id))
        async with self._recording(tenant_id, events, actor) as conn:
            await MilestoneRepository(conn).answered_by_person(
                tenant_id, conversation_id, actor.id, message.created_at
            )
        return message

    async def return_to_assistant(
        self, tenant_id: str, conversation_id: str, *, actor: Actor
    ) -> bool:
        """Hand the conversation back to the assistant, which answers the customer's next
        message; False when it was with the assistant already."""
        moved = await self._chat.move(tenant_id, conversation_id, ConversationStatus.BOT)
        if moved is not None:
            # Handing back is where today's desk ends a person's part: it counts as resolved.
            events = [ConversationReturned(conversation_id)]
            async with self._recording(tenant_id, events, actor) as conn:
                await MilestoneRepository(conn).resolved(
                    tenant_id, conversation_id, moved.created_at
                )
        return moved is not None

    @contextlib.asynccontextmanager
    async def _recording(
        self, tenant_id: str, events: Sequence[AuditEvent], actor: Actor
    ) -> AsyncIterator[AsyncConnection]:
        """The audit of a step and its milestone, right after its messages are stored, in a
        transaction of its own: theirs is the writer's group commit, shared with other
        conversations' messages."""
        async with self._db.transaction(tenant_id) as conn:
            for event in events:
                await self._audit.record(conn, tenant_id, event, actor)
            yield conn
