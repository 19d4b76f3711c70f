"""SQL for conversations and messages. Every method takes `tenant_id` first and filters on it.
Message bodies and citations are stored sealed with the tenant's data key, bound to their message
and field."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Row, case, insert, select, update
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
from parlour.storage.tables import conversations, messages, webhook_deliveries

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

    async def claim_seqs(
        self, wanted: Mapping[tuple[str, str], int], at: datetime
    ) -> dict[tuple[str, str], tuple[int, ConversationStatus]]:
        """Reserve `wanted[(tenant, conversation)]` numbers in each conversation, one statement
        per tenant; returns each one's new last number and its status (a conversation that does
        not exist under that tenant is absent). On PostgreSQL the row locks this takes, always
        in the same order, order concurrent writers, so numbers are gap-free and commit in order.

        Every batch once scanned a tenant's whole set of conversations: SQLite answered a
        row-value `(tenant_id, conversation_id) IN (…)` with a table scan, and, without
        statistics, `tenant_id = ? AND conversation_id IN (…)` through the (tenant, user) index.
        The tenant test is written as an expression no index serves, so the primary key finds
        the rows: 0.2 ms at 5,000 conversations instead of 1.9 ms, and flat as they grow.
        (A file SQLite database is written by `DirectMessageBatch`, which claims the same way.)"""
        counts: dict[str, dict[str, int]] = {}
        for (tenant_id, conversation_id), count in sorted(wanted.items()):
            counts.setdefault(tenant_id, {})[conversation_id] = count
        claimed: dict[tuple[str, str], tuple[int, ConversationStatus]] = {}
        for tenant_id, per_conversation in counts.items():
            increment = case(per_conversation, value=conversations.c.conversation_id)
            rows = await self._conn.execute(
                update(conversations)
                .where(
                    conversations.c.conversation_id.in_(list(per_conversation)),
                    conversations.c.tenant_id.concat("") == tenant_id,
                )
                .values(last_seq=conversations.c.last_seq + increment, updated_at=at)
                .returning(
                    conversations.c.conversation_id,
                    conversations.c.last_seq,
                    conversations.c.status,
                )
            )
            for conversation_id, last_seq, status in rows:
                claimed[tenant_id, conversation_id] = (int(last_seq), ConversationStatus(status))
        return claimed

    async def set_status(
        self, tenant_id: str, conversation_id: str, status: ConversationStatus
    ) -> None:
        await self._conn.execute(
            update(conversations)
            .where(
                conversations.c.tenant_id == tenant_id,
                conversations.c.conversation_id == conversation_id,
            )
            .values(status=status.value)
        )


class MessageRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    @staticmethod
    async def insert_many(
        conn: AsyncConnection, ciphers: Mapping[str, TenantCipher], batch: Sequence[Message]
    ) -> None:
        """Insert in one statement, each message sealed with its own tenant's key."""
        if batch:
            await conn.execute(
                insert(messages), [sealed_row(m, ciphers[m.tenant_id]) for m in batch]
            )

    @staticmethod
    async def insert_deliveries(
        conn: AsyncConnection, deliveries: Sequence[dict[str, object]]
    ) -> None:
        """Webhook deliveries owed for messages of this transaction (the outbox)."""
        if deliveries:
            await conn.execute(insert(webhook_deliveries), list(deliveries))

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


Key = tuple[str, str]  # (tenant id, conversation id)


def in_arrival_order(
    keys: Sequence[Key], claimed: Mapping[Key, tuple[int, ConversationStatus]]
) -> list[int | None]:
    """Each message's number: a conversation's claim runs up to its new last number, handed
    out in arrival order; None where the conversation does not exist."""
    wanted = Counter(keys)
    next_seq = {key: last - wanted[key] + 1 for key, (last, _) in claimed.items()}
    seqs: list[int | None] = []
    for key in keys:
        if key in claimed:
            seqs.append(next_seq[key])
            next_seq[key] += 1
        else:
            seqs.append(None)
    return seqs


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
