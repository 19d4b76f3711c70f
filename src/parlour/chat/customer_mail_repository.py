"""SQL for what the desk keeps to reach a customer by e-mail (chat/customer_mail.py): the address
a customer left in a conversation, and the mails owed to customers (the outbox). Addresses are
sealed by the caller; the outbox is read across organisations by the sender, and every later
read names its tenant."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import conversation_contacts, customer_mails

REPLY = "reply"
TRANSCRIPT = "transcript"


@dataclass(frozen=True, slots=True)
class OwedMail:
    mail_id: str
    tenant_id: str
    conversation_id: str
    kind: str  # REPLY or TRANSCRIPT
    address_sealed: bytes
    seq: int | None
    attempts: int


class ContactRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def put(
        self, tenant_id: str, conversation_id: str, address_sealed: bytes, at: datetime
    ) -> None:
        """The conversation's address, replacing one given before."""
        await self._conn.execute(
            delete(conversation_contacts).where(
                conversation_contacts.c.tenant_id == tenant_id,
                conversation_contacts.c.conversation_id == conversation_id,
            )
        )
        await self._conn.execute(
            insert(conversation_contacts).values(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                address_sealed=address_sealed,
                given_at=at,
            )
        )

    async def get(self, tenant_id: str, conversation_id: str) -> bytes | None:
        return (
            await self._conn.execute(
                select(conversation_contacts.c.address_sealed).where(
                    conversation_contacts.c.tenant_id == tenant_id,
                    conversation_contacts.c.conversation_id == conversation_id,
                )
            )
        ).scalar()


class CustomerMailRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def owe(
        self,
        mail_id: str,
        tenant_id: str,
        conversation_id: str,
        kind: str,
        address_sealed: bytes,
        *,
        seq: int | None,
        due: datetime,
        at: datetime,
    ) -> None:
        await self._conn.execute(
            insert(customer_mails).values(
                mail_id=mail_id,
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                kind=kind,
                address_sealed=address_sealed,
                seq=seq,
                attempts=0,
                next_attempt_at=due,
                created_at=at,
            )
        )

    async def reply_owed(self, tenant_id: str, conversation_id: str) -> bool:
        """Whether a reply mail is owed already (a later reply rides in it)."""
        found = await self._conn.execute(
            select(customer_mails.c.mail_id).where(
                customer_mails.c.tenant_id == tenant_id,
                customer_mails.c.conversation_id == conversation_id,
                customer_mails.c.kind == REPLY,
            )
        )
        return found.first() is not None

    async def seen(self, tenant_id: str, conversation_id: str, up_to_seq: int) -> int:
        """The customer read the conversation up to `up_to_seq` in the widget: a reply mail owed
        from an earlier number now carries only what follows (a later reply may ride in it yet;
        when the mail is due and nothing follows, it is dropped unsent)."""
        result = await self._conn.execute(
            update(customer_mails)
            .where(
                customer_mails.c.tenant_id == tenant_id,
                customer_mails.c.conversation_id == conversation_id,
                customer_mails.c.kind == REPLY,
                customer_mails.c.seq <= up_to_seq,
            )
            .values(seq=up_to_seq + 1)
        )
        return int(result.rowcount or 0)

    async def due(self, now: datetime, limit: int) -> list[OwedMail]:
        rows = await self._conn.execute(
            select(customer_mails)
            .where(customer_mails.c.next_attempt_at <= now)
            .order_by(customer_mails.c.next_attempt_at, customer_mails.c.mail_id)
            .limit(limit)
        )
        return [
            OwedMail(
                m["mail_id"],
                m["tenant_id"],
                m["conversation_id"],
                m["kind"],
                m["address_sealed"],
                m["seq"],
                m["attempts"],
            )
            for m in (row._mapping for row in rows)
        ]

    async def claim(self, mail_ids: Collection[str], *, now: datetime, until: datetime) -> set[str]:
        """Take for sending until `until` those still due (another node may have taken some)."""
        rows = await self._conn.execute(
            update(customer_mails)
            .where(customer_mails.c.mail_id.in_(mail_ids), customer_mails.c.next_attempt_at <= now)
            .values(next_attempt_at=until)
            .returning(customer_mails.c.mail_id)
        )
        return {row[0] for row in rows}

    async def done(self, mail_id: str) -> None:
        await self._conn.execute(delete(customer_mails).where(customer_mails.c.mail_id == mail_id))

    async def retry(self, mail_id: str, attempts: int, at: datetime) -> None:
        await self._conn.execute(
            update(customer_mails)
            .where(customer_mails.c.mail_id == mail_id)
            .values(attempts=attempts, next_attempt_at=at)
        )

    async def pending(self, tenant_id: str) -> list[str]:
        """The kinds of mail owed in the organisation (for tests and the operator)."""
        rows = await self._conn.execute(
            select(customer_mails.c.kind).where(customer_mails.c.tenant_id == tenant_id)
        )
        return [row[0] for row in rows]
