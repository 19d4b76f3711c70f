"""Logging in: the password, then a code. The password opens a session that can do one thing
next (enter a code, or enrol an authenticator when the account has none); the code makes it
ACTIVE under a new reference (T-41). MFA is not optional (T-38). Failures say the same thing
whatever failed and are throttled per address and per account and address (T-40)."""

from __future__ import annotations

import asyncio

from parlour.errors import InvalidInput
from parlour.identity.accounts import normalise_email
from parlour.identity.errors import EmailNotVerified, InvalidCredentials, TooManyAttempts
from parlour.identity.models import IssuedSession, Stage
from parlour.identity.passwords import Passwords
from parlour.identity.repository import AccountRepository
from parlour.identity.second_factor import SecondFactor
from parlour.identity.session_repository import SessionRepository
from parlour.identity.sessions import Sessions
from parlour.observability import security_event
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database


class Login:
    """Reads no clock of its own: the sessions it issues and the codes it checks do."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        limits: RateLimits,
        sessions: Sessions,
        second_factor: SecondFactor,
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._limits = limits
        self._sessions = sessions
        self._second_factor = second_factor

    async def prepare(self) -> None:
        """Before serving: the decoy hash an unknown login is checked against (T-40)."""
        await asyncio.to_thread(self._passwords.prepare)

    async def log_in(self, email: str, password: str, *, source_ip: str | None) -> IssuedSession:
        address = source_ip or "unknown"
        try:
            email = normalise_email(email)
        except InvalidInput:
            email = ""
        if not await self._limits.allow("login_address", address) or not await self._limits.allow(
            "login_pair", email, address
        ):
            security_event("login.throttled", email=email, ip=source_ip)
            raise TooManyAttempts()
        async with self._db.read() as conn:
            stored = await AccountRepository(conn).by_email(email) if email else None
        password_hash = stored.password_hash if stored else None
        right = await asyncio.to_thread(self._passwords.verify, password_hash, password)
        if stored is None or not right or stored.account.disabled:
            security_event(
                "login.failed",
                account_id=stored.account.account_id if stored else None,
                ip=source_ip,
            )
            raise InvalidCredentials()
        account = stored.account
        if not account.email_verified:
            raise EmailNotVerified()
        async with self._db.transaction() as conn:
            if self._passwords.needs_rehash(stored.password_hash):
                rehashed = await asyncio.to_thread(self._passwords.hash, password)
                await AccountRepository(conn).set_password_hash(account.account_id, rehashed)
            stage = Stage.MFA_REQUIRED if account.mfa_enabled else Stage.MFA_ENROLMENT
            issued = await self._sessions.issue(conn, account.account_id, stage, source_ip)
        security_event("login.password_accepted", account_id=account.account_id, ip=source_ip)
        return issued

    async def complete(self, token: str, code: str, *, source_ip: str | None) -> IssuedSession:
        """The second factor: a TOTP code or an unused recovery code. The session is replaced."""
        stored, session = await self._sessions.at(token, Stage.MFA_REQUIRED)
        await self._second_factor.check(stored, code, source_ip)
        async with self._db.transaction() as conn:
            await SessionRepository(conn).delete(session.token_hash)
            account_id = stored.account.account_id
            issued = await self._sessions.issue(conn, account_id, Stage.ACTIVE, source_ip)
        security_event("login.succeeded", account_id=stored.account.account_id, ip=source_ip)
        return issued
