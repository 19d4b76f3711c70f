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
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Row,
    Update,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.lifecycle import (
    WAITING,
    WITH_PEOPLE,
    Capacity,
    Keep,
    Move,
    Resolution,
    Whoever,
)
from parlour.chat.models import (
    AttachmentRef,
    Author,
    Choice,
    Citation,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from parlour.crypto.vault import Place, TenantCipher
from parlour.storage.tables import conversations, messages

TABLE = "messages"
c = conversations.c


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
        self,
        tenant_id: str,
        status: ConversationStatus,
        limit: int,
        *,
        team_id: str | None = None,
        unassigned: bool = False,
    ) -> list[Conversation]:
        """The tenant's conversations in `status` (in `team_id`'s queue only, when given; with
        nobody assigned only, with `unassigned`), the longest quiet first."""
        where = [c.tenant_id == tenant_id, c.status == status.value]
        if team_id is not None:
            where.append(c.team_id == team_id)
        if unassigned:
            where.append(c.assignee.is_(None))
        rows = await self._conn.execute(
            select(conversations)
            .where(*where)
            .order_by(conversations.c.updated_at, conversations.c.conversation_id)
            .limit(limit)
        )
        return [_conversation(row) for row in rows]

    async def set_team(self, tenant_id: str, conversation_id: str, team_id: str | None) -> bool:
        """Put the conversation in `team_id`'s queue (None: no team's), a compare-and-set: False
        when it was there already (or there is no such conversation)."""
        result = await self._conn.execute(
            update(conversations)
            .where(
                c.tenant_id == tenant_id,
                c.conversation_id == conversation_id,
                c.team_id.is_distinct_from(team_id),
            )
            .values(team_id=team_id)
        )
        return bool(result.rowcount)

    async def leave_team(self, tenant_id: str, team_id: str) -> None:
        """No conversation is in the team's queue any more (it is being deleted)."""
        await self._conn.execute(
            update(conversations)
            .where(c.tenant_id == tenant_id, c.team_id == team_id)
            .values(team_id=None)
        )

    async def move(self, tenant_id: str, conversation_id: str, move: Move, at: datetime) -> bool:
        """A move the customer is not told of, alone; False when the row was not as it expects."""
        result = await self._conn.execute(move_statement(tenant_id, conversation_id, move, at))
        return bool(result.rowcount)

    async def back_to_people(
        self,
        tenant_id: str,
        *,
        conversation_id: str | None = None,
        due_by: datetime | None = None,
    ) -> list[str]:
        """Bring waiting conversations back to the person who has them, else to the queue: one
        conversation whose customer wrote (pending or snoozed), or every snoozed one whose time
        is `due_by` (the desk wakes them when it lists). A compare-and-set like every move; the
        ids of those it brought back."""
        where: list[ColumnElement[bool]] = [c.tenant_id == tenant_id]
        if conversation_id is not None:
            waiting = [status.value for status in WAITING]
            where += [c.conversation_id == conversation_id, c.status.in_(waiting)]
        if due_by is not None:
            where += [c.status == ConversationStatus.SNOOZED.value, c.snoozed_until <= due_by]
        result = await self._conn.execute(
            update(conversations)
            .where(*where)
            .values(
                status=case(
                    (c.assignee.is_(None), ConversationStatus.QUEUED.value),
                    else_=ConversationStatus.ASSIGNED.value,
                ),
                snoozed_until=None,
            )
            .returning(c.conversation_id)
        )
        return [str(row[0]) for row in result]

    async def read_up_to(
        self, tenant_id: str, conversation_id: str, author: Author, seq: int
    ) -> bool:
        """Move the side's read position forward to `seq` (never back, never past the
        conversation's last message); False when it moved nothing."""
        column = c.customer_read_seq if author is Author.USER else c.agent_read_seq
        result = await self._conn.execute(
            update(conversations)
            .where(
                c.tenant_id == tenant_id,
                c.conversation_id == conversation_id,
                column < seq,
                c.last_seq >= seq,
            )
            .values({column.key: seq})
        )
        return bool(result.rowcount)

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
            citations=tuple(
                Citation(id=c["id"], title=c["title"], url=c.get("url")) for c in citations
            ),
            actions=tuple(m["actions"]),
            created_at=m["created_at"],
            author_name=m["author_name"],
            choices=_open_choices(self._cipher, m["choices_sealed"], message_id),
            attachments=_open_attachments(self._cipher, m["attachments_sealed"], message_id),
        )


def sealed_row(message: Message, cipher: TenantCipher) -> dict[str, object]:
    citations = json.dumps([c.as_json() for c in message.citations]) if message.citations else "[]"
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
        "author_name": message.author_name,
        "choices_sealed": cipher.seal_text(
            json.dumps([{"id": c.id, "title": c.title} for c in message.choices]),
            Place(TABLE, message.message_id, "choices"),
        )
        if message.choices
        else None,
        "attachments_sealed": cipher.seal_text(
            json.dumps([a.as_json() for a in message.attachments]),
            Place(TABLE, message.message_id, "attachments"),
        )
        if message.attachments
        else None,
    }


def _open_choices(
    cipher: TenantCipher, sealed: bytes | None, message_id: str
) -> tuple[Choice, ...]:
    if sealed is None:
        return ()
    listed = json.loads(cipher.open_text(sealed, Place(TABLE, message_id, "choices")))
    return tuple(Choice(id=c["id"], title=c["title"]) for c in listed)


def _open_attachments(
    cipher: TenantCipher, sealed: bytes | None, message_id: str
) -> tuple[AttachmentRef, ...]:
    if sealed is None:
        return ()
    listed = json.loads(cipher.open_text(sealed, Place(TABLE, message_id, "attachments")))
    return tuple(
        AttachmentRef(
            id=a["id"],
            name=a["name"],
            content_type=a["content_type"],
            size=a["size"],
            thumbnail=a["thumbnail"],
        )
        for a in listed
    )


def move_statement(tenant_id: str, conversation_id: str, move: Move, at: datetime) -> Update:
    """The compare-and-set of `move` (chat/lifecycle.py), made `at`: it touches one row, or none
    when the conversation is not as the move expects; the moments reports read change with it
    (chat/milestones.py). The statuses are compared one by one rather than with IN, so the
    statement carries no expanding parameter and compiles for SQLite's own driver too
    (chat/batch.py)."""
    where: list[ColumnElement[bool]] = [
        c.tenant_id == tenant_id,
        c.conversation_id == conversation_id,
        or_(*(c.status == status.value for status in sorted(move.allowed))),
    ]
    if move.expected is Whoever.SOMEONE:
        where.append(c.assignee.is_not(None))
    elif move.expected is not Whoever.ANYONE:
        where.append(c.assignee.is_not_distinct_from(move.expected))
    values: dict[str, object] = {"status": move.to.value, "snoozed_until": move.until}
    when = literal(at, c.resolved_at.type)
    if move.to in WITH_PEOPLE:
        # After a resolution, a new episode: its moments replace the last one's.
        again = c.resolved_at.is_not(None)
        values["handed_at"] = case((again, when), else_=func.coalesce(c.handed_at, when))
        values["first_human_reply_at"] = case((again, None), else_=c.first_human_reply_at)
        values["human_account_id"] = case((again, None), else_=c.human_account_id)
        values["resolved_at"] = None
    elif move.resolution is Resolution.SET:
        values["resolved_at"] = when
    elif move.resolution is Resolution.CLEAR:
        # The right-hand side reads the row as it was: cleared only if it was resolved.
        values["resolved_at"] = case(
            (c.status == ConversationStatus.RESOLVED.value, None), else_=c.resolved_at
        )
    if move.within is not None:
        where.append(_below_capacity(tenant_id, move.within))
    if isinstance(move.assignee, Keep):
        where.append(c.status != move.to.value)
    else:
        values["assignee"] = move.assignee
        # Something changes: no announcement of a move that moves nothing.
        where.append(or_(c.status != move.to.value, c.assignee.is_distinct_from(move.assignee)))
    return update(conversations).where(*where).values(**values)


def _below_capacity(tenant_id: str, capacity: Capacity) -> ColumnElement[bool]:
    """The agent has fewer than `capacity.limit` conversations assigned, read in the move's own
    statement (on PostgreSQL auto-assignment also holds the agent's lock around it)."""
    theirs = conversations.alias("theirs")
    assigned = (
        select(func.count())
        .select_from(theirs)
        .where(
            theirs.c.tenant_id == tenant_id,
            theirs.c.assignee == capacity.account_id,
            theirs.c.status == ConversationStatus.ASSIGNED.value,
        )
        .scalar_subquery()
    )
    return assigned < capacity.limit


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
        assignee=m["assignee"],
        snoozed_until=m["snoozed_until"],
        customer_read_seq=m["customer_read_seq"],
        agent_read_seq=m["agent_read_seq"],
        team_id=m["team_id"],
    )
