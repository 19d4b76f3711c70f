"""An organisation's canned replies: prepared answers its people insert in the reply box by
typing `/` and their shortcut (the dashboard's canned.js), or send by replying with exactly
`/shortcut` (`expand`, for the page without script).

A shortcut is a slug (`refund-policy`: lower-case letters and digits in words joined by
hyphens, at most 64 characters), held to the identifiers rule first (T-90), unique in the
organisation. A body is held to the rule for messages (it is sent as one). Bodies are sealed
with the tenant's key: the organisation's own text, yet what its people tell customers, kept
like the FAQ's answers. Admins manage them, every member who handles conversations reads and
uses them; each change is audited with who made it, never the body."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    Actor,
    AuditEvent,
    CannedReplyChanged,
    CannedReplyCreated,
    CannedReplyRemoved,
)
from parlour.audit.service import AuditLog
from parlour.chat.canned_replies_repository import CannedReplyRepository
from parlour.chat.models import CannedReply
from parlour.chat.service import ChatService
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identifiers import check_identifier
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow

MAX_REPLIES = 500
MAX_SHORTCUT = 64
SHORTCUT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A reply that is exactly one shortcut, as typed in the reply box.
TYPED = re.compile(r"/([a-z0-9]+(?:-[a-z0-9]+)*)")


def check_shortcut(value: str) -> str:
    shortcut = check_identifier(value.strip(), "A shortcut").lower()
    if not (SHORTCUT.fullmatch(shortcut) and len(shortcut) <= MAX_SHORTCUT):
        raise InvalidInput(
            "A shortcut is lower-case letters and digits, in words joined by hyphens "
            f"(like refund-policy), at most {MAX_SHORTCUT} characters."
        )
    return shortcut


class CannedReplies:
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

    async def all(self, tenant_id: str) -> list[CannedReply]:
        """The organisation's canned replies, by shortcut."""

        async def read(cipher: TenantCipher) -> list[CannedReply]:
            async with self._db.read(tenant_id) as conn:
                return await CannedReplyRepository(conn, cipher).all(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def get(self, tenant_id: str, reply_id: str) -> CannedReply:
        async def read(cipher: TenantCipher) -> CannedReply | None:
            async with self._db.read(tenant_id) as conn:
                return await CannedReplyRepository(conn, cipher).get(tenant_id, reply_id)

        reply = await self._vault.using(tenant_id, read)
        if reply is None:
            raise NotFound("no such canned reply")
        return reply

    async def create(
        self, tenant_id: str, shortcut: str, body: str, *, actor: Actor
    ) -> CannedReply:
        now = self._clock()
        reply = CannedReply(
            tenant_id=tenant_id,
            reply_id=time_ordered_id(),
            shortcut=check_shortcut(shortcut),
            body=self._chat.clean_text(body),
            created_at=now,
            updated_at=now,
        )
        cipher = await self._vault.cipher(tenant_id)
        try:
            async with self._db.transaction(tenant_id) as conn:
                replies = CannedReplyRepository(conn, cipher)
                if await replies.count(tenant_id) >= MAX_REPLIES:
                    raise InvalidInput(f"An organisation may keep at most {MAX_REPLIES} replies.")
                await self._refuse_taken(replies, tenant_id, reply.shortcut, None)
                await replies.insert(reply)
                created = CannedReplyCreated(reply.reply_id, reply.shortcut)
                await self._record(conn, tenant_id, created, actor)
        except IntegrityError as raced:  # the same shortcut created at the same moment
            raise _taken(reply.shortcut) from raced
        return reply

    async def change(
        self, tenant_id: str, reply_id: str, shortcut: str, body: str, *, actor: Actor
    ) -> CannedReply:
        """Its shortcut and body replaced."""
        shortcut, body = check_shortcut(shortcut), self._chat.clean_text(body)
        cipher = await self._vault.cipher(tenant_id)
        try:
            async with self._db.transaction(tenant_id) as conn:
                replies = CannedReplyRepository(conn, cipher)
                await self._refuse_taken(replies, tenant_id, shortcut, reply_id)
                if not await replies.replace(tenant_id, reply_id, shortcut, body, self._clock()):
                    raise NotFound("no such canned reply")
                await self._record(conn, tenant_id, CannedReplyChanged(reply_id, shortcut), actor)
        except IntegrityError as raced:
            raise _taken(shortcut) from raced
        return await self.get(tenant_id, reply_id)

    async def remove(self, tenant_id: str, reply_id: str, *, actor: Actor) -> None:
        reply = await self.get(tenant_id, reply_id)
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            if not await CannedReplyRepository(conn, cipher).delete(tenant_id, reply_id):
                raise NotFound("no such canned reply")
            await self._record(conn, tenant_id, CannedReplyRemoved(reply_id, reply.shortcut), actor)

    async def expand(self, tenant_id: str, text: str) -> str:
        """A reply that is exactly `/shortcut` becomes that canned reply's body (InvalidInput
        when the organisation has none by that name, rather than send the customer a slash
        command); any other text is itself."""
        typed = TYPED.fullmatch(text.strip())
        if typed is None:
            return text

        async def read(cipher: TenantCipher) -> CannedReply | None:
            async with self._db.read(tenant_id) as conn:
                return await CannedReplyRepository(conn, cipher).by_shortcut(tenant_id, typed[1])

        reply = await self._vault.using(tenant_id, read)
        if reply is None:
            raise InvalidInput(f"There is no canned reply /{typed[1]}.")
        return reply.body

    async def _refuse_taken(
        self, replies: CannedReplyRepository, tenant_id: str, shortcut: str, reply_id: str | None
    ) -> None:
        holder = await replies.holder_of(tenant_id, shortcut)
        if holder is not None and holder != reply_id:
            raise _taken(shortcut)

    async def _record(
        self, conn: AsyncConnection, tenant_id: str, event: AuditEvent, actor: Actor
    ) -> None:
        await self._audit.record(conn, tenant_id, event, actor)


def _taken(shortcut: str) -> Conflict:
    return Conflict(f"A canned reply is already called /{shortcut}.")
