"""Group commit: messages that arrive while a transaction is committing are written together in
the next one.

A quiet node commits each message at once; a busy one commits hundreds per transaction, so the
statements per message fall from two to a few per batch. Every statement is a round trip to the
database (on SQLite a hop to its thread), and those round trips, not CPU, were what bounded a
node's throughput.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from parlour.chat.models import (
    Author,
    Citation,
    ConversationStatus,
    Message,
    MessageKind,
)
from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.types import utcnow

# Bounded so a backlog commits in steps and the first callers hear back early.
MAX_BATCH = 256


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
    status: ConversationStatus | None = None  # the conversation's new status, if it changes
    message_id: str | None = None  # chosen ahead when deltas were streamed under it


@dataclass(frozen=True, slots=True)
class Appended:
    message: Message
    created: bool  # False: this client id was stored before, and `message` is that row
    # The conversation's status once this message was written (None for a retry's stored row).
    status: ConversationStatus | None


Outcome = Appended | Exception


class MessageWriter:
    def __init__(self, db: Database, vault: Vault) -> None:
        self._db = db
        self._vault = vault
        self._pending: list[tuple[Draft, asyncio.Future[Appended]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def append(self, draft: Draft) -> Appended:
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((draft, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a caller that goes away (its socket closed) does not cancel the write.
        return await asyncio.shield(future)

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
        except SQLAlchemyError as error:
            if len(drafts) == 1:
                return [await self._settle_alone(drafts[0], error)]
            # One draft must not sink the others (a retried client id, a deleted
            # conversation): write each on its own and let each meet its own fate.
            return [await self._alone(draft) for draft in drafts]
        return outcomes

    async def _alone(self, draft: Draft) -> Outcome:
        try:
            return (await self._together([draft]))[0]
        except SQLAlchemyError as error:
            return await self._settle_alone(draft, error)

    async def _settle_alone(self, draft: Draft, error: SQLAlchemyError) -> Outcome:
        """A lone draft failed: a retried client id is answered with the stored row."""
        if isinstance(error, IntegrityError) and draft.client_id is not None:
            cipher = await self._vault.cipher(draft.tenant_id)
            async with self._db.read() as conn:
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
        now = utcnow()
        wanted = Counter((draft.tenant_id, draft.conversation_id) for draft in drafts)
        outcomes: list[Outcome] = []
        async with self._db.transaction() as conn:
            conversations = ConversationRepository(conn)
            claimed = await conversations.claim_seqs(wanted, now)
            # Numbers run up to the last claimed: hand them out in arrival order.
            next_seq = {key: last - wanted[key] + 1 for key, (last, _) in claimed.items()}
            for draft in drafts:
                key = (draft.tenant_id, draft.conversation_id)
                if key not in claimed:
                    outcomes.append(NotFound("no such conversation"))
                    continue
                status = draft.status or claimed[key][1]
                message = _message(draft, next_seq[key], now)
                outcomes.append(Appended(message, created=True, status=status))
                next_seq[key] += 1
            stored = [outcome.message for outcome in outcomes if isinstance(outcome, Appended)]
            await MessageRepository.insert_many(conn, ciphers, stored)
            for draft in drafts:
                if draft.status is not None and (draft.tenant_id, draft.conversation_id) in claimed:
                    await conversations.set_status(
                        draft.tenant_id, draft.conversation_id, draft.status
                    )
        return outcomes


def _message(draft: Draft, seq: int, now: datetime) -> Message:
    return Message(
        tenant_id=draft.tenant_id,
        conversation_id=draft.conversation_id,
        seq=seq,
        message_id=draft.message_id or str(uuid.uuid4()),
        kind=draft.kind,
        author=draft.author,
        body=draft.body,
        client_id=draft.client_id,
        citations=draft.citations,
        actions=draft.actions,
        created_at=now,
    )
