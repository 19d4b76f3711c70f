"""Private notes (T-99): what the organisation's people write on a conversation for each other,
never for the customer.

A note is not a message. It lives in a table of its own (chat/notes_repository.py) and has no
sequence number, so the paths that carry messages to the customer's side cannot meet one by
construction: the widget's frames and its history and resume (`ChatService.history`), the
conversation's broker channel (a note is never published there), transcripts and e-mails (built
from messages), and webhooks (whose outbox names stored messages). Its body is sealed with the
tenant's key like a message's; writing one is audited with the person as actor, never its text.

The organisation's members hear of a new note on the desk's channel (`NoteAdded`, ids only),
which reaches members and never a customer's socket."""

from __future__ import annotations

from parlour.audit.events import Actor, NoteWritten
from parlour.audit.service import AuditLog
from parlour.chat.desk_events import NoteAdded
from parlour.chat.models import Note
from parlour.chat.notes_repository import NoteRepository
from parlour.chat.repository import ConversationRepository
from parlour.chat.service import ChatService
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow

MAX_LISTED = 200


class PrivateNotes:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        chat: ChatService,
        audit: AuditLog,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._chat = chat
        self._audit = audit
        self._clock = clock

    async def add(self, tenant_id: str, conversation_id: str, text: str, *, actor: Actor) -> Note:
        """A note by `actor` on the organisation's conversation (NotFound for any other), its
        text held to the rule for messages."""
        note = Note(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            note_id=time_ordered_id(),
            author_id=actor.id,
            body=self._chat.clean_text(text),
            created_at=self._clock(),
        )
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            if await ConversationRepository(conn).get(tenant_id, conversation_id) is None:
                raise NotFound("no such conversation")
            await NoteRepository(conn, cipher).insert(note)
            await self._audit.record(
                conn, tenant_id, NoteWritten(conversation_id, note.note_id), actor
            )
        await self._chat.broker.publish_desk(tenant_id, NoteAdded(conversation_id, note.note_id))
        return note

    async def latest(
        self, tenant_id: str, conversation_id: str, *, limit: int = MAX_LISTED
    ) -> list[Note]:
        """The conversation's latest notes, oldest first (NotFound for another organisation's
        conversation)."""

        async def read(cipher: TenantCipher) -> list[Note]:
            async with self._db.read(tenant_id) as conn:
                if await ConversationRepository(conn).get(tenant_id, conversation_id) is None:
                    raise NotFound("no such conversation")
                return await NoteRepository(conn, cipher).latest(
                    tenant_id, conversation_id, min(limit, MAX_LISTED)
                )

        return await self._vault.using(tenant_id, read)

    async def note(self, tenant_id: str, conversation_id: str, note_id: str) -> Note:
        """One note of the organisation's conversation (NotFound for any other): what a member's
        desk socket shows on the page of that conversation (chat/desk_socket.py)."""

        async def read(cipher: TenantCipher) -> Note:
            async with self._db.read(tenant_id) as conn:
                found = await NoteRepository(conn, cipher).get(tenant_id, conversation_id, note_id)
            if found is None:
                raise NotFound("no such note")
            return found

        return await self._vault.using(tenant_id, read)
