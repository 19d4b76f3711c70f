"""Conversations: opening, appending with sequence numbers, idempotent user messages, handoff."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from opentelemetry.trace import Tracer

from parlour import metrics
from parlour.chat.broker import Broker
from parlour.chat.milestones import MilestoneRepository
from parlour.chat.models import (
    AnswerStreaming,
    Author,
    Citation,
    Conversation,
    ConversationStatus,
    HandoffState,
    Message,
    MessageAdded,
    MessageKind,
    ReadUpTo,
    TypingChanged,
)
from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.chat.writer import (
    Appended,
    Draft,
    MessageWriter,
    NoSubscriptions,
    Subscriptions,
)
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, NotFound
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tracing import span, tracer_of

# Unicode's control characters (category Cc, exactly these two ranges) but line feed and tab,
# which are text: a search that runs in C, where a test of each character's category did not.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_ANNOUNCED = {
    ConversationStatus.QUEUED: HandoffState.QUEUED,
    ConversationStatus.AGENT: HandoffState.AGENT_JOINED,
    ConversationStatus.BOT: HandoffState.RETURNED_TO_BOT,
}
# The statuses from which a conversation moves to each.
_MOVES_TO = {
    ConversationStatus.QUEUED: {ConversationStatus.BOT},
    ConversationStatus.AGENT: {ConversationStatus.BOT, ConversationStatus.QUEUED},
    ConversationStatus.BOT: {ConversationStatus.QUEUED, ConversationStatus.AGENT},
}


class ChatService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        broker: Broker,
        *,
        max_message_chars: int,
        tally: Tally,
        subscriptions: Subscriptions | None = None,
        clock: Clock = utcnow,
        tracer: Tracer | None = None,
    ) -> None:
        self._db = db
        self._tally = tally
        self._vault = vault
        self.broker = broker
        self._writer = MessageWriter(db, vault, subscriptions or NoSubscriptions(), clock=clock)
        self._max_chars = max_message_chars
        self._clock = clock
        self._tracer = tracer or tracer_of(None)

    async def open_conversation(self, tenant_id: str, end_user_id: str) -> Conversation:
        """The end user's conversation: their latest one, or a new one. Verified users therefore
        find their history on any device."""
        async with self._db.read(tenant_id) as conn:
            existing = await ConversationRepository(conn).latest_for_user(tenant_id, end_user_id)
        if existing is not None:
            return existing
        conversation = Conversation(
            tenant_id=tenant_id,
            conversation_id=time_ordered_id(),
            end_user_id=end_user_id,
            status=ConversationStatus.BOT,
            last_seq=0,
            created_at=self._clock(),
        )
        async with self._db.transaction(tenant_id) as conn:
            await ConversationRepository(conn).insert(conversation)
        self._tally.add(tenant_id, Figure.CONVERSATIONS_STARTED)
        return conversation

    async def get_conversation(self, tenant_id: str, conversation_id: str) -> Conversation:
        async with self._db.read(tenant_id) as conn:
            conversation = await ConversationRepository(conn).get(tenant_id, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        return conversation

    async def history(
        self, tenant_id: str, conversation_id: str, *, after_seq: int, limit: int
    ) -> list[Message]:
        async def read(cipher: TenantCipher) -> list[Message]:
            async with self._db.read(tenant_id) as conn:
                return await MessageRepository(conn, cipher).list_after(
                    tenant_id, conversation_id, after_seq, limit
                )

        return await self._vault.using(tenant_id, read)

    async def post_user_message(
        self, tenant_id: str, conversation_id: str, *, client_id: str, text: str
    ) -> Appended:
        """Persist a user's message; `created` is False when this client id was already stored,
        so a retry after a lost acknowledgement is not duplicated."""
        return await self._append(
            Draft(
                tenant_id,
                conversation_id,
                kind=MessageKind.TEXT,
                author=Author.USER,
                body=self.clean_text(text),
                client_id=client_id,
            )
        )

    async def post(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        author: Author,
        body: str,
        citations: Sequence[Citation] = (),
        actions: Sequence[str] = (),
        message_id: str | None = None,
    ) -> Message:
        appended = await self._append(
            Draft(
                tenant_id,
                conversation_id,
                kind=MessageKind.TEXT,
                author=author,
                body=body,
                citations=tuple(citations),
                actions=tuple(actions),
                message_id=message_id,
            )
        )
        return appended.message

    async def request_handoff(self, tenant_id: str, conversation_id: str) -> Message | None:
        """Queue the conversation for a human; None when it already waits for or has one."""
        return await self.move(tenant_id, conversation_id, ConversationStatus.QUEUED)

    async def move(
        self, tenant_id: str, conversation_id: str, to: ConversationStatus
    ) -> Message | None:
        """Queue the conversation for a person, give it to one, or return it to the assistant,
        announced to its sockets by a `handoff` message; None when it is in no status that
        moves there (a customer's request queues only a conversation still with the bot)."""
        conversation = await self.get_conversation(tenant_id, conversation_id)
        if conversation.status not in _MOVES_TO[to]:
            return None
        appended = await self._append(
            Draft(
                tenant_id,
                conversation_id,
                kind=MessageKind.HANDOFF,
                author=Author.SYSTEM,
                body=_ANNOUNCED[to].value,
                status=to,
            )
        )
        if to is not ConversationStatus.BOT and appended.created:
            async with self._db.transaction(tenant_id) as conn:
                await MilestoneRepository(conn).handed(
                    tenant_id, conversation_id, appended.message.created_at
                )
        return appended.message

    async def with_status(
        self, tenant_id: str, status: ConversationStatus, *, limit: int
    ) -> list[Conversation]:
        async with self._db.read(tenant_id) as conn:
            return await ConversationRepository(conn).with_status(tenant_id, status, limit)

    async def set_typing(
        self, tenant_id: str, conversation_id: str, author: Author, active: bool
    ) -> None:
        await self.broker.publish(tenant_id, conversation_id, TypingChanged(author, active))

    async def stream_part(
        self, tenant_id: str, conversation_id: str, stream_id: str, text: str
    ) -> None:
        await self.broker.publish(tenant_id, conversation_id, AnswerStreaming(stream_id, text))

    async def mark_read(
        self, tenant_id: str, conversation_id: str, author: Author, seq: int
    ) -> None:
        await self.broker.publish(tenant_id, conversation_id, ReadUpTo(author, seq))

    def clean_text(self, text: str) -> str:
        body = unicodedata.normalize("NFC", text).strip()
        if not body:
            raise InvalidInput("a message needs some text")
        if len(body) > self._max_chars:
            raise InvalidInput(f"a message may have at most {self._max_chars} characters")
        if _CONTROL.search(body):
            raise InvalidInput("a message may not contain control characters")
        return body

    async def _append(self, draft: Draft) -> Appended:
        """Store, then tell the conversation's subscribers. Publishing here, not in the writer,
        lets the caller's own reply (`accepted`) go out before the echo of its message."""
        # Waiting for the group commit, in the trace of whatever the message answers to.
        with span(self._tracer, "chat.store_message", attributes={"parlour.author": draft.author}):
            appended = await self._writer.append(draft)
        if appended.created:
            message = appended.message
            if message.author is not Author.SYSTEM:
                self._tally.add(draft.tenant_id, Figure.MESSAGES, message.author.value)
            metrics.message_stored(message.author, message.tenant_id)
            await self.broker.publish(draft.tenant_id, draft.conversation_id, MessageAdded(message))
        return appended
