"""Confirming an e-mail address with the link mailed at sign-up; an account logs in only once
its address is confirmed."""

from __future__ import annotations

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType, EmailVerified
from parlour.audit.service import AuditLog
from parlour.errors import InvalidInput
from parlour.identity import mailed_links
from parlour.identity.repository import AccountRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class EmailVerification:
    def __init__(self, db: Database, audit: AuditLog, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def verify(self, token: str, *, source_ip: str | None) -> None:
        now = self._clock()
        async with self._db.transaction() as conn:
            account_id = await mailed_links.spend(conn, token, mailed_links.VERIFY, now)
            if account_id is None:
                raise InvalidInput("This link is not valid any more; sign in to get a new one.")
            await AccountRepository(conn).mark_email_verified(account_id, now)
            actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
            await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(account_id), actor)
