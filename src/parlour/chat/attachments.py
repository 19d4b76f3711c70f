"""Attachments (T-102): files customers and agents attach to a conversation's messages.

- A customer uploads over HTTP with a ticket their socket asked for (`ticket`, then
  `upload_with_ticket`): signed, short-lived, spent once, bound to the organisation, the
  conversation and the end user (chat/attachment_links.py). An agent uploads from the desk,
  as a member who may handle the organisation's conversations (`upload`).
- The type is judged from the content against an allowlist (chat/attachment_content.py); the
  size cap holds while the body streams (the transport stops reading at the cap, and this
  checks again); the limits per conversation (files, bytes) and per organisation (bytes) hold
  in the transaction that stores the file; uploads are rate-limited per uploader and per
  organisation.
- The file, its name and an image's server-made thumbnail are sealed with the tenant's key,
  each bound to the row, in the database (`attachments`). An upload is nobody's message until
  a message takes it (`ChatService.post_user_message`, `post`): then the message carries its
  id, name, type and size, sealed with it. An upload no message took within an hour is
  removed (at the organisation's next upload), so unsent files do not hold room for long.
- It is served only through signed links bound to its conversation (`serve`), which expire; a
  link that does not verify, or has expired, is NotFound like an id that names nothing.
- The audit records each upload and each original served: ids, type, size and side; never the
  content or the name.
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from parlour.audit.events import Actor, AttachmentDownloaded, AttachmentUploaded
from parlour.audit.service import AuditLog
from parlour.chat.attachment_content import judge
from parlour.chat.attachment_links import AttachmentLinks, InvalidUploadTicket, Kind
from parlour.chat.attachments_repository import AttachmentRepository, StoredFile
from parlour.chat.models import Author
from parlour.chat.protocol import upload_ticket_frame
from parlour.chat.repository import ConversationRepository
from parlour.crypto.vault import Vault
from parlour.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, RateLimited
from parlour.identifiers import check_identifier
from parlour.keys.replay import ReplayCache
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow

UPLOADS_PER_USER = "attachment_uploads_per_user"
UPLOADS_PER_TENANT = "attachment_uploads_per_tenant"
MAX_NAME_CHARS = 200
# An upload no message took within this long is removed (at the organisation's next upload), so
# files uploaded and never sent do not hold the conversation's or organisation's room for long.
UNSENT_FOR = timedelta(hours=1)


class AttachmentLimitReached(Conflict):
    code = "attachment_limit_reached"
    default_message = "No more files can be attached here."


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    max_bytes: int = 10 * 1024 * 1024
    files_per_conversation: int = 50
    bytes_per_conversation: int = 50 * 1024 * 1024
    bytes_per_organisation: int = 5 * 1024 * 1024 * 1024

    @staticmethod
    def rules(per_user: str, per_tenant: str) -> dict[str, str]:
        """The rate rules uploads count against, by name."""
        return {UPLOADS_PER_USER: per_user, UPLOADS_PER_TENANT: per_tenant}


@dataclass(frozen=True, slots=True)
class Served:
    """What a signed link serves: the bytes, their type, and the file's name (originals)."""

    data: bytes
    content_type: str
    name: str
    kind: Kind


class Attachments:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        rate_limits: RateLimits,
        links: AttachmentLinks,
        replay: ReplayCache,
        *,
        limits: AttachmentLimits = AttachmentLimits(),
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._rate_limits = rate_limits
        self.links = links
        self._replay = replay
        self.limits = limits
        self._clock = clock

    def ticket_frame(self, tenant_id: str, conversation_id: str, user_id: str) -> dict[str, object]:
        """The answer to a customer's `upload` frame: a ticket for one file, and where to post
        it (docs/protocol.md §3.7)."""
        ticket, expires_at = self.links.ticket(tenant_id, conversation_id, user_id)
        return upload_ticket_frame(ticket, self.links.upload_url, expires_at, self.limits.max_bytes)

    async def upload_with_ticket(
        self, ticket: str, name: str, data: bytes, *, actor: Actor
    ) -> StoredFile:
        """A customer's file, posted with the ticket their socket was given: the ticket's
        signature and expiry checked, its single use spent, its end user still the
        conversation's."""
        bound = self.links.read_ticket(ticket)
        end_user = await self._conversation(bound.tenant_id, bound.conversation_id)
        if end_user is None or end_user != bound.user_id:
            raise InvalidUploadTicket()
        if not await self._replay.first_use(
            bound.tenant_id, f"upload:{bound.ticket_id}", bound.expires_at
        ):
            raise InvalidUploadTicket("The upload ticket was used; ask for a new one.")
        return await self._store(
            bound.tenant_id, bound.conversation_id, Author.USER, bound.user_id, name, data, actor
        )

    async def upload(
        self, tenant_id: str, conversation_id: str, name: str, data: bytes, *, actor: Actor
    ) -> StoredFile:
        """An agent's file for their reply (the caller checked they may handle the
        organisation's conversations); NotFound for a conversation not the organisation's."""
        if await self._conversation(tenant_id, conversation_id) is None:
            raise NotFound("no such conversation")
        return await self._store(
            tenant_id, conversation_id, Author.AGENT, actor.id, name, data, actor
        )

    async def serve(
        self,
        tenant_id: str,
        attachment_id: str,
        kind: Kind,
        expires: str,
        sig: str,
        *,
        actor: Actor,
    ) -> Served:
        """The file or thumbnail a signed link names; NotFound unless the link verifies for
        the attachment's own conversation and has not expired, or for an upload no message
        took. An original served is audited."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            repository = AttachmentRepository(conn, cipher)
            stored = await repository.get(tenant_id, attachment_id)
            if stored is None or stored.message_id is None:
                raise NotFound()
            self.links.check_link(
                tenant_id, stored.conversation_id, attachment_id, kind, expires, sig
            )
            data = await repository.content(stored, kind is Kind.THUMBNAIL)
        if data is None:
            raise NotFound()
        if kind is Kind.THUMBNAIL:
            return Served(data, stored.thumbnail_type or "", stored.name, kind)
        event = AttachmentDownloaded(
            stored.conversation_id, attachment_id, stored.content_type, stored.size
        )
        async with self._db.transaction(tenant_id) as conn:
            await self._audit.record(conn, tenant_id, event, actor)
        return Served(data, stored.content_type, stored.name, kind)

    async def _store(
        self,
        tenant_id: str,
        conversation_id: str,
        author: Author,
        uploader: str,
        name: str,
        data: bytes,
        actor: Actor,
    ) -> StoredFile:
        limits = self.limits
        if len(data) > limits.max_bytes:
            raise PayloadTooLarge(
                f"A file may be at most {limits.max_bytes} bytes.",
                details={"limit_bytes": limits.max_bytes},
            )
        if not data:
            raise InvalidInput("The file is empty.")
        shown_name = clean_name(name)
        if not await self._rate_limits.allow(UPLOADS_PER_USER, tenant_id, uploader):
            raise RateLimited("Too many files; wait a moment.")
        if not await self._rate_limits.allow(UPLOADS_PER_TENANT, tenant_id):
            raise RateLimited("Too many files for this organisation; wait a moment.")
        # Decoding and re-encoding is CPU work: off the event loop.
        judged = await asyncio.to_thread(judge, data)
        stored = StoredFile(
            tenant_id=tenant_id,
            attachment_id=time_ordered_id(),
            conversation_id=conversation_id,
            message_id=None,
            author=author.value,
            content_type=judged.content_type,
            size=len(data),
            name=shown_name,
            thumbnail_type=judged.thumbnail_type,
            created_at=self._clock(),
        )
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            repository = AttachmentRepository(conn, cipher)
            await repository.forget_unsent(tenant_id, stored.created_at - UNSENT_FOR)
            files, used = await repository.usage(tenant_id, conversation_id)
            if files + 1 > limits.files_per_conversation:
                raise AttachmentLimitReached(
                    f"A conversation may carry at most {limits.files_per_conversation} files."
                )
            if used + len(data) > limits.bytes_per_conversation:
                raise AttachmentLimitReached("This conversation has no room for this file.")
            _, organisation = await repository.usage(tenant_id)
            if organisation + len(data) > limits.bytes_per_organisation:
                raise AttachmentLimitReached("The organisation has no room for more files.")
            await repository.insert(stored, data, judged.thumbnail)
            event = AttachmentUploaded(
                conversation_id,
                stored.attachment_id,
                stored.content_type,
                stored.size,
                author.value,
            )
            await self._audit.record(conn, tenant_id, event, actor)
        return stored

    async def _conversation(self, tenant_id: str, conversation_id: str) -> str | None:
        """The conversation's end user, or None when it is not the organisation's."""
        async with self._db.read(tenant_id) as conn:
            found = await ConversationRepository(conn).get(tenant_id, conversation_id)
        return found.end_user_id if found is not None else None


def clean_name(name: str) -> str:
    """The name a file is shown under: its last path part, normalised, within the identifier
    rule (no control, bidirectional or invisible characters) and `MAX_NAME_CHARS`."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", ".."):
        return "file"
    check_identifier(base, "a file's name")
    return base[:MAX_NAME_CHARS]
