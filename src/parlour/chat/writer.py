"""Group commit: messages that arrive while a transaction is committing are written together in
the next one.

A quiet node commits each message at once; a busy one commits hundreds per transaction, so the
statements per message fall from two to a few per batch. Every statement is a round trip to the
database, and those round trips, not CPU, were what bounded a node's throughput. On SQLite a
round trip through SQLAlchemy is a hop to aiosqlite's thread (several per statement), so there
the whole transaction runs at once on SQLite's own driver (`Database.write_directly`):
acknowledgements at 1,000 messages/s came in p50 ~9 ms before, ~1 ms after. That transaction's
SQL, on either driver, is chat/batch.py's; when to write, and each message's fate, are here.

The webhook deliveries a batch owes (`Subscriptions`) are written in its transaction: an outbox,
so a message is never stored without them, nor they without it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from parlour.chat.batch import BatchStore
from parlour.chat.lifecycle import Move
from parlour.chat.models import (
    AttachmentRef,
    Author,
    Choice,
    Citation,
    ConversationStatus,
    Message,
    MessageKind,
    webhook_events,
)
from parlour.chat.repository import MessageRepository
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tasks import detached

# Bounded so a backlog commits in steps and the first callers hear back early.
MAX_BATCH = 256
# What a failed statement raises, through SQLAlchemy or on the direct SQLite connection.
_DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error)
_DUPLICATE = (IntegrityError, sqlite3.IntegrityError)


@dataclass(frozen=True, slots=True)
class Draft:
    """A message to append; the writer gives it its number, id and time."""

    tenant_id: str
    conversation_id: str
    kind: MessageKind
    author: Author
    body: str
    client_id: str | None = None
    citations: tuple[Citation, ...] = ()
    actions: tuple[str, ...] = ()
    move: Move | None = None  # the conversation's move this message announces (lifecycle.py)
    message_id: str | None = None  # chosen ahead when deltas were streamed under it
    author_name: str | None = None  # an agent's display name, kept as it is when sent
    choices: tuple[Choice, ...] = ()  # an assistant's offer of entries
    attachments: tuple[AttachmentRef, ...] = ()  # files it carries (chat/attachments.py)


@dataclass(frozen=True, slots=True)
class Appended:
    message: Message
    created: bool  # False: this client id was stored before, and `message` is that row
    # The conversation's status once this message was written (None for a retry's stored row).
    status: ConversationStatus | None
    moved_from: ConversationStatus | None = None  # the status the message's move left


class NotMoved(Exception):
    """The draft's move found its conversation otherwise: neither is stored."""


Outcome = Appended | Exception


class Subscriptions(Protocol):
    """Which of an organisation's webhook endpoints hear of which event; a delivery is owed
    to each for every message stored (written in the same transaction: an outbox)."""

    async def endpoints(self, tenant_id: str) -> Mapping[str, Sequence[str]]: ...


class Stored(Protocol):
    """Told, after each batch, which organisations it stored messages for (the search index's
    writer follows them off the hot path: parlour.search.indexer). Called on the hot path: it
    must only note them."""

    def stored(self, tenant_ids: Collection[str]) -> None: ...


class NoSubscriptions:
    async def endpoints(self, tenant_id: str) -> Mapping[str, Sequence[str]]:
        return {}


class MessageWriter:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        subscriptions: Subscriptions,
        *,
        stored: Stored | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._stored = stored
        self._vault = vault
        self._subscriptions = subscriptions
        self._clock = clock
        self._pending: list[tuple[Draft, asyncio.Future[Appended]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._batches = BatchStore(db)

    async def append(self, draft: Draft) -> Appended:
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((draft, future))
        if self._flusher is None:
            self._flusher = detached(self._flush(), name="message writer")
        # A caller that goes away (its socket closed) cancels only its wait: the draft is queued
        # and is written all the same, and its result is dropped.
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                drafts = [draft for draft, _ in batch]
                try:
                    outcomes = await self._write(drafts)
                except Exception as error:
                    outcomes = [error] * len(drafts)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None

    async def _write(self, drafts: list[Draft]) -> list[Outcome]:
        try:
            outcomes = await self._together(drafts)
        except _DATABASE_ERRORS as error:
            if len(drafts) == 1:
                return [await self._settle_alone(drafts[0], error)]
            # One draft must not sink the others (a retried client id, a deleted
            # conversation): write each on its own and let each meet its own fate.
            return [await self._alone(draft) for draft in drafts]
        return outcomes

    async def _alone(self, draft: Draft) -> Outcome:
        try:
            return (await self._together([draft]))[0]
        except _DATABASE_ERRORS as error:
            return await self._settle_alone(draft, error)

    async def _settle_alone(self, draft: Draft, error: Exception) -> Outcome:
        """A lone draft failed: a retried client id is answered with the stored row."""
        if isinstance(error, _DUPLICATE) and draft.client_id is not None:
            cipher = await self._vault.cipher(draft.tenant_id)
            async with self._db.read(draft.tenant_id) as conn:
                stored = await MessageRepository(conn, cipher).find_by_client_id(
                    draft.tenant_id, draft.conversation_id, draft.client_id
                )
            if stored is not None:
                return Appended(stored, created=False, status=None)
        return error

    async def _together(self, drafts: list[Draft]) -> list[Outcome]:
        """One transaction: claim numbers per conversation, insert every message, commit."""
        ciphers: dict[str, TenantCipher] = {}
        for tenant_id in {draft.tenant_id for draft in drafts}:
            ciphers[tenant_id] = await self._vault.cipher(tenant_id)
        now = self._clock()
        unnumbered = [_message(draft, now) for draft in drafts]
        moves = [draft.move for draft in drafts]
        deliveries = await self._deliveries(unnumbered, now)
        fates = await self._batches.store(unnumbered, ciphers, moves, deliveries, now)
        if self._stored is not None:
            self._stored.stored(ciphers)
        outcomes: list[Outcome] = []
        for message, fate in zip(unnumbered, fates, strict=True):
            if fate.refused:
                outcomes.append(NotMoved())
            elif fate.seq is None:
                outcomes.append(NotFound("no such conversation"))
            else:
                numbered = _numbered(message, fate.seq)
                outcomes.append(Appended(numbered, True, fate.status, fate.moved_from))
        return outcomes

    async def _deliveries(self, batch: list[Message], now: datetime) -> list[dict[str, object]]:
        """The webhook deliveries these messages owe, one per subscribed endpoint."""
        deliveries: list[dict[str, object]] = []
        for tenant_id in {m.tenant_id for m in batch}:
            endpoints = await self._subscriptions.endpoints(tenant_id)
            if not endpoints:
                continue
            for message in batch:
                if message.tenant_id != tenant_id:
                    continue
                deliveries.extend(
                    {
                        "delivery_id": time_ordered_id(),
                        "tenant_id": tenant_id,
                        "endpoint_id": endpoint_id,
                        "event": event,
                        "conversation_id": message.conversation_id,
                        "message_id": message.message_id,
                        "payload": None,  # read from the message when sent
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for event in webhook_events(message)
                    for endpoint_id in endpoints.get(event, ())
                )
        return deliveries


def _message(draft: Draft, now: datetime) -> Message:
    """The message a draft becomes; numbered (`seq`) once its conversation's claim is made."""
    return Message(
        tenant_id=draft.tenant_id,
        conversation_id=draft.conversation_id,
        seq=0,
        message_id=draft.message_id or time_ordered_id(),
        kind=draft.kind,
        author=draft.author,
        body=draft.body,
        client_id=draft.client_id,
        citations=draft.citations,
        actions=draft.actions,
        created_at=now,
        author_name=draft.author_name,
        choices=draft.choices,
        attachments=draft.attachments,
    )


def _numbered(message: Message, seq: int) -> Message:
    """`message` with its number; built field by field, as `dataclasses.replace` costs twice as
    much once per message on the hot path."""
    return Message(
        tenant_id=message.tenant_id,
        conversation_id=message.conversation_id,
        seq=seq,
        message_id=message.message_id,
        kind=message.kind,
        author=message.author,
        body=message.body,
        created_at=message.created_at,
        client_id=message.client_id,
        citations=message.citations,
        actions=message.actions,
        author_name=message.author_name,
        choices=message.choices,
        attachments=message.attachments,
    )
