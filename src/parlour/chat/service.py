"""Conversations: opening, appending with sequence numbers, idempotent user messages, and the
moves of their life (chat/lifecycle.py), announced or not. Each change is told to the
conversation's sockets and, as a desk event (chat/desk_events.py), to the organisation's
members' live sockets.

One concept, a conversation's use cases, just past 400 lines; its parts already live apart
(lifecycle, writer, desk events, the brokers).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from opentelemetry.trace import Tracer

from parlour import metrics
from parlour.chat import lifecycle
from parlour.chat.attachment_links import AttachmentLinks
from parlour.chat.attachments_repository import AttachmentRepository, StoredFile
from parlour.chat.broker import Broker
from parlour.chat.desk_events import ConversationChanged, DeskRead, DeskTyping, MessageNoted
from parlour.chat.lifecycle import WAITING, Move
from parlour.chat.models import (
    AnswerStreaming,
    AttachmentRef,
    Author,
    Choice,
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
from parlour.chat.writer import (
    Appended,
    Draft,
    MessageWriter,
    NoSubscriptions,
    NotMoved,
    Stored,
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


class MoveListener(Protocol):
    """Told of each move that happened, after it is stored, and of other changes to who may
    handle a conversation (`move` None: its team changed); auto-assignment offers the queue."""

    async def moved(self, tenant_id: str, conversation_id: str, move: Move | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Moved:
    """A move that happened: when, from which status (when known), and its announcement."""

    at: datetime
    moved_from: ConversationStatus | None = None
    message: Message | None = None  # the `handoff` message the customer is told by


class UnknownAttachment(InvalidInput):
    code = "attachment_unknown"
    default_message = (
        "An attachment named is not one uploaded to this conversation and not yet sent."
    )


class _NotAllFree(Exception):
    """Some of a message's files were taken meanwhile (by another message)."""


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
        stored: Stored | None = None,
        clock: Clock = utcnow,
        tracer: Tracer | None = None,
        links: AttachmentLinks | None = None,
    ) -> None:
        self._db = db
        # Attachments' signed links, minted afresh whenever a frame carries one (T-102).
        self.links = links or AttachmentLinks(
            secrets.token_bytes(32), secrets.token_bytes(32), public_url="", clock=clock
        )
        self._tally = tally
        self._vault = vault
        self.broker = broker
        self._writer = MessageWriter(
            db, vault, subscriptions or NoSubscriptions(), stored=stored, clock=clock
        )
        self._max_chars = max_message_chars
        self._clock = clock
        self._tracer = tracer or tracer_of(None)
        self._listeners: list[MoveListener] = []

    def on_moved(self, listener: MoveListener) -> None:
        """Tell `listener` of every move from now on (wired once, by build_services)."""
        self._listeners.append(listener)

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
        await self.broker.publish_desk(
            tenant_id, ConversationChanged.of(conversation, created=True)
        )
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

    async def message(
        self, tenant_id: str, conversation_id: str, message_id: str
    ) -> Message | None:
        """The conversation's message with this id (None: no such message in it)."""

        async def read(cipher: TenantCipher) -> Message | None:
            async with self._db.read(tenant_id) as conn:
                found = await MessageRepository(conn, cipher).get_many(tenant_id, [message_id])
            return found[0] if found and found[0].conversation_id == conversation_id else None

        return await self._vault.using(tenant_id, read)

    async def question_before(
        self, tenant_id: str, conversation_id: str, message_id: str, *, look_back: int = 20
    ) -> Message | None:
        """The customer's latest message before `message_id` (an answer) in the conversation,
        within `look_back` messages of it; None when there is none, or no such message."""

        async def read(cipher: TenantCipher) -> Message | None:
            async with self._db.read(tenant_id) as conn:
                repository = MessageRepository(conn, cipher)
                found = await repository.get_many(tenant_id, [message_id])
                if not found or found[0].conversation_id != conversation_id:
                    return None
                seq = found[0].seq
                earlier = await repository.list_after(
                    tenant_id, conversation_id, max(0, seq - 1 - look_back), look_back
                )
            asked = [m for m in earlier if m.seq < seq and m.author is Author.USER]
            return asked[-1] if asked else None

        return await self._vault.using(tenant_id, read)

    async def post_user_message(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        client_id: str,
        text: str,
        attachment_ids: Sequence[str] = (),
    ) -> Appended:
        """Persist a user's message; `created` is False when this client id was already stored,
        so a retry after a lost acknowledgement is not duplicated. A message to a conversation
        that waits (pending, snoozed) or was resolved reopens it (chat/lifecycle.py); `status`
        is then the one it reopened to when that is the assistant, which answers.
        `attachment_ids`: files the customer uploaded to this conversation that no message
        took yet (the text may then be empty)."""
        refs: tuple[AttachmentRef, ...] = ()
        if attachment_ids:
            stored = await self._stored_by_client_id(tenant_id, conversation_id, client_id)
            if stored is not None:
                return Appended(stored, created=False, status=None)
            refs = await self.attachments_to_send(
                tenant_id, conversation_id, Author.USER, attachment_ids
            )
        body = self.clean_text(text) if text.strip() or not refs else ""
        appended = await self._append_with_files(
            Draft(
                tenant_id,
                conversation_id,
                kind=MessageKind.TEXT,
                author=Author.USER,
                body=body,
                client_id=client_id,
                attachments=refs,
            )
        )
        if not appended.created or appended.status is None:
            return appended
        if appended.status in WAITING:
            async with self._db.transaction(tenant_id) as conn:
                woken = await ConversationRepository(conn).back_to_people(
                    tenant_id, conversation_id=conversation_id
                )
            for woken_id in woken:
                await self.changed(tenant_id, woken_id)
        elif appended.status is ConversationStatus.RESOLVED:
            for move in lifecycle.reopened_by_customer():
                if await self.move(tenant_id, conversation_id, move) is not None:
                    return dataclasses.replace(appended, status=move.to)
        return appended

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
        author_name: str | None = None,
        choices: Sequence[Choice] = (),
        attachments: Sequence[AttachmentRef] = (),
    ) -> Message:
        """`author_name`: an agent's display name, stored with the message as it is now (a
        later rename does not rewrite what the customer was shown). `attachments`: files
        uploaded to this conversation that no message took yet (`attachments_to_send`)."""
        appended = await self._append_with_files(
            Draft(
                tenant_id,
                conversation_id,
                kind=MessageKind.TEXT,
                author=author,
                body=body,
                citations=tuple(citations),
                actions=tuple(actions),
                message_id=message_id,
                author_name=author_name,
                choices=tuple(choices),
                attachments=tuple(attachments),
            )
        )
        return appended.message

    async def attachments_to_send(
        self, tenant_id: str, conversation_id: str, author: Author, ids: Sequence[str]
    ) -> tuple[AttachmentRef, ...]:
        """The files `ids` name, in that order: each uploaded by `author`'s side to this
        conversation and taken by no message yet; `UnknownAttachment` when one is not."""
        wanted = list(dict.fromkeys(ids))

        async def read(cipher: TenantCipher) -> list[StoredFile]:
            async with self._db.read(tenant_id) as conn:
                return await AttachmentRepository(conn, cipher).unclaimed(
                    tenant_id, conversation_id, author.value, wanted
                )

        found = {f.attachment_id: f.ref for f in await self._vault.using(tenant_id, read)}
        if len(found) != len(wanted):
            raise UnknownAttachment()
        return tuple(found[i] for i in wanted)

    async def _append_with_files(self, draft: Draft) -> Appended:
        """Append `draft`; its files are claimed for it first, under the id it will have, so
        they are its own before anyone hears of it (and no other message can take them), and
        given back if it is not stored."""
        if not draft.attachments:
            return await self._append(draft)
        message_id = draft.message_id or time_ordered_id()
        ids = [a.id for a in draft.attachments]
        if not await self._claim(draft.tenant_id, draft.conversation_id, ids, message_id):
            raise UnknownAttachment()
        try:
            appended = await self._append(dataclasses.replace(draft, message_id=message_id))
        except BaseException:
            await self._claim(draft.tenant_id, draft.conversation_id, ids, None, was=message_id)
            raise
        if not appended.created:  # a retry found stored: the files stay with the first
            await self._claim(draft.tenant_id, draft.conversation_id, ids, None, was=message_id)
        return appended

    async def _claim(
        self,
        tenant_id: str,
        conversation_id: str,
        ids: list[str],
        message_id: str | None,
        *,
        was: str | None = None,
    ) -> bool:
        """Give the files to `message_id` (or back, to none), from `was`; whether all moved."""
        cipher = await self._vault.cipher(tenant_id)
        try:
            async with self._db.transaction(tenant_id) as conn:
                moved = await AttachmentRepository(conn, cipher).claim(
                    tenant_id, conversation_id, ids, message_id, was=was
                )
                if moved != len(ids) and message_id is not None:
                    raise _NotAllFree()  # rolls the claim back
        except _NotAllFree:
            return False
        return True

    async def _stored_by_client_id(
        self, tenant_id: str, conversation_id: str, client_id: str
    ) -> Message | None:
        async def read(cipher: TenantCipher) -> Message | None:
            async with self._db.read(tenant_id) as conn:
                return await MessageRepository(conn, cipher).find_by_client_id(
                    tenant_id, conversation_id, client_id
                )

        return await self._vault.using(tenant_id, read)

    async def request_handoff(self, tenant_id: str, conversation_id: str) -> Message | None:
        """Queue the conversation for a person; None when people have it already."""
        moved = await self.move(tenant_id, conversation_id, lifecycle.handoff_requested())
        return moved.message if moved else None

    async def changed(self, tenant_id: str, conversation_id: str) -> None:
        """The conversation changed otherwise than by a move (it woke, or changed teams): told
        to the organisation's members as it is now, and to the listeners (auto-assignment
        offers it if it is queued)."""
        await self._tell_desk(tenant_id, conversation_id)
        for listener in self._listeners:
            await listener.moved(tenant_id, conversation_id, None)

    async def move(self, tenant_id: str, conversation_id: str, move: Move) -> Moved | None:
        """Make `move` (a compare-and-set, T-100), stored with the `handoff` message that tells
        the conversation's sockets when the customer hears of it; None when the conversation
        was not as the move expects (NotFound when there is none). The moments reports read
        change with the move, in its statement; a move to people from the assistant or from
        resolved is also counted as a handover."""
        made = await self._make(tenant_id, conversation_id, move)
        if made is not None:
            for listener in self._listeners:
                await listener.moved(tenant_id, conversation_id, move)
        return made

    async def _make(self, tenant_id: str, conversation_id: str, move: Move) -> Moved | None:
        if move.announced is None:
            async with self._db.transaction(tenant_id) as conn:
                at = self._clock()
                moved = await ConversationRepository(conn).move(
                    tenant_id, conversation_id, move, at
                )
            if not moved:
                await self.get_conversation(tenant_id, conversation_id)
                return None
            await self._tell_desk(tenant_id, conversation_id)
            return Moved(at)
        try:
            appended = await self._append(
                Draft(
                    tenant_id,
                    conversation_id,
                    kind=MessageKind.HANDOFF,
                    author=Author.SYSTEM,
                    body=move.announced.value,
                    move=move,
                )
            )
        except NotMoved:
            return None
        message = appended.message
        await self._tell_desk(tenant_id, conversation_id)
        return Moved(message.created_at, appended.moved_from, message)

    async def wake(self, tenant_id: str) -> int:
        """Bring the organisation's snoozed conversations whose time has come back to their
        person, or to the queue; how many woke."""
        async with self._db.transaction(tenant_id) as conn:
            woken = await ConversationRepository(conn).back_to_people(
                tenant_id, due_by=self._clock()
            )
        for conversation_id in woken:
            await self.changed(tenant_id, conversation_id)
        return len(woken)

    async def _tell_desk(self, tenant_id: str, conversation_id: str) -> None:
        """Tell the organisation's members where the conversation is now."""
        conversation = await self.get_conversation(tenant_id, conversation_id)
        await self.broker.publish_desk(tenant_id, ConversationChanged.of(conversation))

    async def with_status(
        self,
        tenant_id: str,
        status: ConversationStatus,
        *,
        limit: int,
        team_id: str | None = None,
        unassigned: bool = False,
    ) -> list[Conversation]:
        async with self._db.read(tenant_id) as conn:
            return await ConversationRepository(conn).with_status(
                tenant_id, status, limit, team_id=team_id, unassigned=unassigned
            )

    async def set_typing(
        self,
        tenant_id: str,
        conversation_id: str,
        author: Author,
        active: bool,
        *,
        account_id: str | None = None,
        name: str | None = None,
    ) -> None:
        """Told to the conversation's sockets (the customer's: a member's `typing` frame with
        their display `name`, when they have one), and to the members' desk with the member
        who types (`account_id`), if one does."""
        typed = TypingChanged(author, active, name)
        await self.broker.publish(tenant_id, conversation_id, typed)
        typing = DeskTyping(conversation_id, author.value, active, account_id)
        await self.broker.publish_desk(tenant_id, typing)

    async def stream_part(
        self, tenant_id: str, conversation_id: str, stream_id: str, text: str
    ) -> None:
        await self.broker.publish(tenant_id, conversation_id, AnswerStreaming(stream_id, text))

    async def mark_read(
        self,
        tenant_id: str,
        conversation_id: str,
        author: Author,
        seq: int,
        *,
        account_id: str | None = None,
    ) -> bool:
        """`author`'s side (the customer, or the conversation's people) has seen everything up
        to `seq`: stored on the conversation, only ever forward, and told to the conversation's
        sockets (a `read` frame on the other side's). False when it moved nothing (seen
        already, or beyond the conversation's last message), and nothing is told. A member's
        own mark (`account_id`) goes to the desk as well, where that member's other pages count
        what is unread from it."""
        async with self._db.transaction(tenant_id) as conn:
            moved = await ConversationRepository(conn).read_up_to(
                tenant_id, conversation_id, author, seq
            )
        if moved:
            await self.broker.publish(tenant_id, conversation_id, ReadUpTo(author, seq))
        if account_id is not None:
            await self.broker.publish_desk(tenant_id, DeskRead(conversation_id, account_id, seq))
        return moved

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
            noted = MessageNoted(
                draft.conversation_id, message.seq, message.author.value, message.kind.value
            )
            await self.broker.publish_desk(draft.tenant_id, noted)
        return appended
