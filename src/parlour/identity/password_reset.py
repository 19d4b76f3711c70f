"""Resetting a forgotten password with a mailed link. A reset never skips the second factor: the
link and a code are both needed (T-45). The request does not reveal whether the address has an
account."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from parlour.audit import events
from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType
from parlour.audit.service import AuditLog
from parlour.errors import InvalidInput
from parlour.identity import mailed_links
from parlour.identity.accounts import normalise_email
from parlour.identity.errors import TooManyAttempts
from parlour.identity.mail import Mailer
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository
from parlour.identity.second_factor import SecondFactor
from parlour.identity.session_repository import SessionRepository
from parlour.observability import security_event
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

RESET_TOKEN_LIFETIME = timedelta(hours=1)
_INVALID = "This link is not valid any more; ask for a new one."


class PasswordReset:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        passwords: Passwords,
        mailer: Mailer,
        limits: RateLimits,
        second_factor: SecondFactor,
        *,
        public_url: str,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._audit = audit
        self._passwords = passwords
        self._mailer = mailer
        self._limits = limits
        self._second_factor = second_factor
        self._public_url = public_url.rstrip("/")
        self._clock = clock

    async def request(self, email: str, *, source_ip: str | None) -> None:
        """Mail a one-hour reset link, if the address has an account; the caller sees the same
        outcome either way."""
        if not await self._limits.allow("mails", source_ip or "unknown"):
            raise TooManyAttempts()
        async with self._db.transaction() as conn:
            stored = await AccountRepository(conn).by_email(normalise_email(email))
            if stored is None or stored.account.disabled:
                security_event("password_reset.unknown", ip=source_ip)
                return
            expires = self._clock() + RESET_TOKEN_LIFETIME
            token = await mailed_links.issue(
                conn, stored.account.account_id, mailed_links.RESET, expires
            )
        link = f"{self._public_url}/dashboard/reset?token={token}"
        await self._mailer.send(
            stored.account.email,
            "Reset your Parlour password",
            f"Open this link to choose a new password:\n\n{link}\n\nIt works once, for an "
            "hour, and you will need a code from your authenticator app (or a recovery code). "
            "If you did not ask for this, ignore this mail: your password is unchanged.",
        )

    async def reset(self, token: str, password: str, code: str, *, source_ip: str | None) -> None:
        """A new password from a mailed link and a code. Every session of the account ends."""
        now = self._clock()
        async with self._db.read() as conn:
            account_id = await mailed_links.peek(conn, token, mailed_links.RESET, now)
            stored = await AccountRepository(conn).get(account_id) if account_id else None
        if stored is None or stored.account.disabled:
            raise InvalidInput(_INVALID)
        check_password(password, email=stored.account.email)
        if stored.account.mfa_enabled:
            await self._second_factor.check(stored, code, source_ip)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        actor = Actor(ActorType.ACCOUNT, stored.account.account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            if await mailed_links.spend(conn, token, mailed_links.RESET, now) is None:
                raise InvalidInput(_INVALID)
            await AccountRepository(conn).set_password_hash(
                stored.account.account_id, password_hash
            )
            ended = await SessionRepository(conn).delete_of_account(stored.account.account_id)
            event = events.PasswordReset(stored.account.account_id, ended)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
