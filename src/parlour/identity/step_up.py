"""Step-up: the password and a code again, for what needs a fresh proof (secrets, MFA and
allowlist changes, T-42). The session is replaced, and its new reference carries the time of
the proof."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from parlour.identity.errors import InvalidCredentials, ReauthenticationRequired
from parlour.identity.models import IssuedSession, Session, Stage
from parlour.identity.passwords import Passwords
from parlour.identity.second_factor import SecondFactor
from parlour.identity.session_repository import SessionRepository, StoredSession
from parlour.identity.sessions import Sessions
from parlour.observability import security_event
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class StepUp:
    def __init__(
        self,
        db: Database,
        sessions: Sessions,
        second_factor: SecondFactor,
        passwords: Passwords,
        *,
        lifetime: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._second_factor = second_factor
        self._passwords = passwords
        self._lifetime = lifetime
        self._clock = clock

    async def reauthenticate(
        self, token: str, password: str, code: str, *, source_ip: str | None
    ) -> IssuedSession:
        """The password and a code again; returns the replacing session."""
        stored, session = await self._sessions.at(token, Stage.ACTIVE)
        right = await asyncio.to_thread(self._passwords.verify, stored.password_hash, password)
        if not right:
            security_event("reauthentication.failed", account_id=session.account_id, ip=source_ip)
            raise InvalidCredentials()
        await self._second_factor.check(stored, code, source_ip)
        async with self._db.transaction() as conn:
            await SessionRepository(conn).delete(session.token_hash)
            return await self._sessions.issue(conn, session.account_id, Stage.ACTIVE, source_ip)

    def require_recent(self, session: Session | StoredSession) -> None:
        """Refuse unless the session's holder proved password and code again lately (T-42)."""
        if self._clock() - session.authenticated_at > self._lifetime:
            raise ReauthenticationRequired()
