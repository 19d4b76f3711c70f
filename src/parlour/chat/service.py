"""Conversations: opening, appending with sequence numbers, idempotent user messages, handoff."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from parlour.chat.broker import Broker
from parlour.chat.models import (
    Author,
    Citation,
    Conversation,
    ConversationStatus,
    Message,
    MessageAdded,
    MessageKind,
    ReadUpTo,
    TypingChanged,
)
from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, NotFound
from parlour.storage.database import Database
from parlour.storage.types import utcnow

# Line breaks and tabs are text; every other control character is refused.
_ALLOWED_CONTROLS = frozenset("\n\t")


class ChatService:
    def __init__(
        self, db: Database, vault: Vault, broker: Broker, *, max_message_chars: int
    ) -> None:
        self._db = db
        self._vault = vault
        self.broker = broker
        self._max_chars = max_message_chars

    async def open_conversation(self, tenant_id: str, end_user_id: str) -> Conversation:
        """The end user's conversation: their latest one, or a new one. Verified users therefore
        find their history on any device."""
        async with self._db.read() as conn:
            existing = await ConversationRepository(conn).latest_for_user(tenant_id, end_user_id)
        if existing is not None:
            return existing
        conversation = Conversation(
            tenant_id=tenant_id,
            conversation_id=str(uuid.uuid4()),
            end_user_id=end_user_id,
            status=ConversationStatus.BOT,
            last_seq=0,
            created_at=utcnow(),
        )
        async with self._db.transaction() as conn:
            await ConversationRepository(conn).insert(conversation)
        return conversation

    async def get_conversation(self, tenant_id: str, conversation_id: str) -> Conversation:
        async with self._db.read() as conn:
            conversation = await ConversationRepository(conn).get(tenant_id, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        return conversation

    async def history(
        self, tenant_id: str, conversation_id: str, *, after_seq: int, limit: int
    ) -> list[Message]:
        async def read(cipher: TenantCipher) -> list[Message]:
            async with self._db.read() as conn:
                return await MessageRepository(conn, cipher).list_after(
                    tenant_id, conversation_id, after_seq, limit
                )

        return await self._vault.using(tenant_id, read)

    async def post_user_message(
        self, tenant_id: str, conversation_id: str, *, client_id: str, text: str
    ) -> tuple[Message, bool]:
        """Persist a user's message; (message, False) when this client id was already stored, so a
        retry after a lost acknowledgement is not duplicated."""
        body = self.clean_text(text)
        try:
            message = await self._append(
                tenant_id,
                conversation_id,
                kind=MessageKind.TEXT,
                author=Author.USER,
                body=body,
                client_id=client_id,
            )
        except _DuplicateClientId as duplicate:
            return duplicate.message, False
        return message, True

    async def post(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        author: Author,
        body: str,
        citations: Sequence[Citation] = (),
        actions: Sequence[str] = (),
    ) -> Message:
        return await self._append(
            tenant_id,
            conversation_id,
            kind=MessageKind.TEXT,
            author=author,
            body=body,
            citations=tuple(citations),
            actions=tuple(actions),
        )

    async def request_handoff(self, tenant_id: str, conversation_id: str) -> Message | None:
        """Queue the conversation for a human; None when it already waits for or has one."""
        conversation = await self.get_conversation(tenant_id, conversation_id)
        if conversation.status is not ConversationStatus.BOT:
            return None
        return await self._append(
            tenant_id,
            conversation_id,
            kind=MessageKind.HANDOFF,
            author=Author.SYSTEM,
            body=ConversationStatus.QUEUED.value,
            status=ConversationStatus.QUEUED,
        )

    async def set_typing(
        self, tenant_id: str, conversation_id: str, author: Author, active: bool
    ) -> None:
        await self.broker.publish(tenant_id, conversation_id, TypingChanged(author, active))

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
        if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in body):
            raise InvalidInput("a message may not contain control characters")
        return body

    async def _append(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        kind: MessageKind,
        author: Author,
        body: str,
        client_id: str | None = None,
        citations: tuple[Citation, ...] = (),
        actions: tuple[str, ...] = (),
        status: ConversationStatus | None = None,
    ) -> Message:
        now = utcnow()
        cipher = await self._vault.cipher(tenant_id)
        try:
            # Two statements in the common case: claim a number, insert. A retried client id
            # is caught by the unique constraint (the claim rolls back with it) and answered
            # with the stored message below.
            async with self._db.transaction() as conn:
                conversations = ConversationRepository(conn)
                messages = MessageRepository(conn, cipher)
                seq = await conversations.claim_next_seq(tenant_id, conversation_id, now)
                if seq is None:
                    raise NotFound("no such conversation")
                message = Message(
                    tenant_id=tenant_id,
                    conversation_id=conversation_id,
                    seq=seq,
                    message_id=str(uuid.uuid4()),
                    kind=kind,
                    author=author,
                    body=body,
                    client_id=client_id,
                    citations=citations,
                    actions=actions,
                    created_at=now,
                )
                await messages.insert(message)
                if status is not None:
                    await conversations.set_status(tenant_id, conversation_id, status)
        except IntegrityError:
            # This client id is stored already (a retry, or two nodes at once): that row is it.
            if client_id is None:
                raise
            async with self._db.read() as conn:
                stored = await MessageRepository(conn, cipher).find_by_client_id(
                    tenant_id, conversation_id, client_id
                )
            if stored is None:
                raise
            raise _DuplicateClientId(stored) from None
        await self.broker.publish(tenant_id, conversation_id, MessageAdded(message))
        return message


class _DuplicateClientId(Exception):
    def __init__(self, message: Message) -> None:
        self.message = message
