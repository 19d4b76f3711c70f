"""SQL for conversations and messages, all but the writer's batch: opening a conversation,
and reading conversations and messages back. Every method takes `tenant_id` first and filters on
it. Message bodies and citations are stored sealed with the tenant's data key, bound to their
message and field: `sealed_row` and `MessageRepository` are the two directions of that mapping.

Messages are written only in the writer's batches, whose transaction has a module of its own
(chat/batch.py). Conversations and messages share this one: they are read together (the
dispatcher reads a delivery's message with its conversation), and each is small."""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import (
    Author,
    Citation,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from parlour.crypto.vault import Place, TenantCipher
from parlour.storage.tables import conversations, messages

TABLE = "messages"


class ConversationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, conversation: Conversation) -> None:
        await self._conn.execute(
            insert(conversations).values(
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.conversation_id,
                end_user_id=conversation.end_user_id,
                status=conversation.status.value,
                last_seq=conversation.last_seq,
                created_at=conversation.created_at,
                updated_at=conversation.created_at,
            )
        )

    async def get(self, tenant_id: str, conversation_id: str) -> Conversation | None:
        row = (
            await self._conn.execute(
                select(conversations).where(
                    conversations.c.tenant_id == tenant_id,
                    conversations.c.conversation_id == conversation_id,
                )
            )
        ).first()
        return _conversation(row) if row else None

    async def get_many(
        self, tenant_id: str, conversation_ids: Collection[str]
    ) -> dict[str, Conversation]:
        rows = await self._conn.execute(
            select(conversations).where(
                conversations.c.tenant_id == tenant_id,
                conversations.c.conversation_id.in_(conversation_ids),
            )
        )
        return {c.conversation_id: c for c in map(_conversation, rows)}

    async def with_status(
        self, tenant_id: str, status: ConversationStatus, limit: int
    ) -> list[Conversation]:
        """The tenant's conversations in `status`, the longest quiet first."""
        rows = await self._conn.execute(
            select(conversations)
            .where(conversations.c.tenant_id == tenant_id, conversations.c.status == status.value)
            .order_by(conversations.c.updated_at, conversations.c.conversation_id)
            .limit(limit)
        )
        return [_conversation(row) for row in rows]

    async def latest_for_user(self, tenant_id: str, end_user_id: str) -> Conversation | None:
        row = (
            await self._conn.execute(
                select(conversations)
                .where(
                    conversations.c.tenant_id == tenant_id,
                    conversations.c.end_user_id == end_user_id,
                )
                .order_by(conversations.c.created_at.desc())
                .limit(1)
            )
        ).first()
        return _conversation(row) if row else None


class MessageRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def get_many(self, tenant_id: str, message_ids: Collection[str]) -> list[Message]:
        rows = await self._conn.execute(
            select(messages).where(
                messages.c.tenant_id == tenant_id, messages.c.message_id.in_(message_ids)
            )
        )
        return [self._message(row) for row in rows]

    async def find_by_client_id(
        self, tenant_id: str, conversation_id: str, client_id: str
    ) -> Message | None:
        row = (
            await self._conn.execute(
                select(messages).where(
                    messages.c.tenant_id == tenant_id,
                    messages.c.conversation_id == conversation_id,
                    messages.c.client_id == client_id,
                )
            )
        ).first()
        return self._message(row) if row else None

    async def list_after(
        self, tenant_id: str, conversation_id: str, after_seq: int, limit: int
    ) -> list[Message]:
        rows = await self._conn.execute(
            select(messages)
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.conversation_id == conversation_id,
                messages.c.seq > after_seq,
            )
            .order_by(messages.c.seq)
            .limit(limit)
        )
        return [self._message(row) for row in rows]

    def _message(self, row: Row[tuple[object, ...]]) -> Message:
        m = row._mapping
        message_id = m["message_id"]
        citations = json.loads(
            self._cipher.open_text(m["citations_sealed"], Place(TABLE, message_id, "citations"))
        )
        return Message(
            tenant_id=m["tenant_id"],
            conversation_id=m["conversation_id"],
            seq=m["seq"],
            message_id=message_id,
            kind=MessageKind(m["kind"]),
            author=Author(m["author"]),
            body=self._cipher.open_text(m["body_sealed"], Place(TABLE, message_id, "body")),
            client_id=m["client_id"],
            citations=tuple(Citation(id=c["id"], title=c["title"]) for c in citations),
            actions=tuple(m["actions"]),
            created_at=m["created_at"],
        )


def sealed_row(message: Message, cipher: TenantCipher) -> dict[str, object]:
    citations = (
        json.dumps([{"id": c.id, "title": c.title} for c in message.citations])
        if message.citations
        else "[]"
    )
    return {
        "tenant_id": message.tenant_id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "message_id": message.message_id,
        "kind": message.kind.value,
        "author": message.author.value,
        "body_sealed": cipher.seal_text(message.body, Place(TABLE, message.message_id, "body")),
        "client_id": message.client_id,
        "citations_sealed": cipher.seal_text(
            citations, Place(TABLE, message.message_id, "citations")
        ),
        "actions": list(message.actions),
        "created_at": message.created_at,
    }


def _conversation(row: Row[tuple[object, ...]]) -> Conversation:
    m = row._mapping
    return Conversation(
        tenant_id=m["tenant_id"],
        conversation_id=m["conversation_id"],
        end_user_id=m["end_user_id"],
        status=ConversationStatus(m["status"]),
        last_seq=m["last_seq"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
