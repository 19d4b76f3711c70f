"""Dashboard sessions: issuing a reference, finding the session behind one, idle and absolute
expiry, and ending sessions.

A session reference is 256 random bits, kept only as its digest (T-41). A login passes through
stages on one session: the password opens it at a stage that can do one thing next, and each
step after replaces it with a new reference (fixation, T-41).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType, SessionsEnded
from parlour.audit.service import AuditLog
from parlour.crypto.digest import sha256_hex
from parlour.identity.errors import SessionRequired, WrongStage
from parlour.identity.models import Account, IssuedSession, Session, Stage
from parlour.identity.repository import AccountRepository, StoredAccount
from parlour.identity.session_repository import SessionRepository, StoredSession
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

# A session's last use is written at most this often: a page of requests costs one write.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    reauthentication: timedelta
    email_token: timedelta


class Sessions:
    def __init__(
        self, db: Database, audit: AuditLog, policy: SessionPolicy, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._audit = audit
        self._policy = policy
        self._clock = clock

    async def issue(
        self, conn: AsyncConnection, account_id: str, stage: Stage, source_ip: str | None
    ) -> IssuedSession:
        """A new session at `stage`, inside the caller's transaction."""
        token = secrets.token_urlsafe(32)  # 256 bits (T-41 asks for at least 128)
        csrf = secrets.token_urlsafe(32)
        now = self._clock()
        stored = StoredSession(sha256_hex(token), account_id, stage, csrf, now, now, now)
        await SessionRepository(conn).insert(stored, source_ip)
        return IssuedSession(token, stage, csrf)

    async def active(self, token: str | None, *, touch: bool = True) -> Session:
        """The ACTIVE session `token` refers to. `touch=False` reads it without counting a use:
        what is not the person's own doing (the live desk's socket and its re-checks) never
        extends the session's idle time (T-41, T-97)."""
        stored, session = await self.at(token, Stage.ACTIVE, touch=touch)
        return _session(stored.account, session)

    async def pending(self, token: str | None) -> Session:
        """The session at whatever stage it is."""
        stored, session = await self.at(
            token, Stage.MFA_REQUIRED, Stage.MFA_ENROLMENT, Stage.ACTIVE
        )
        return _session(stored.account, session)

    async def at(
        self, token: str | None, *stages: Stage, touch: bool = True
    ) -> tuple[StoredAccount, StoredSession]:
        """The account and session `token` refers to, if the session is at one of `stages`,
        neither idle nor older than the absolute limit, and its account not disabled."""
        if not token:
            raise SessionRequired()
        now = self._clock()
        async with self._db.read() as conn:
            session = await SessionRepository(conn).get(sha256_hex(token))
            stored = await AccountRepository(conn).get(session.account_id) if session else None
        if session is None or stored is None or stored.account.disabled:
            raise SessionRequired()
        idle = now - session.last_seen_at > self._policy.idle
        if idle or now - session.created_at > self._policy.absolute:
            await self.log_out(token)
            raise SessionRequired("Your session has ended; sign in again.")
        if session.stage not in stages:
            raise WrongStage()
        if touch and now - session.last_seen_at > _TOUCH_EVERY:
            async with self._db.transaction() as conn:
                await SessionRepository(conn).touch(session.token_hash, now)
        return stored, session

    async def log_out(self, token: str | None) -> None:
        if not token:
            return
        async with self._db.transaction() as conn:
            await SessionRepository(conn).delete(sha256_hex(token))

    async def end_others(self, token: str, *, source_ip: str | None) -> int:
        """Every other session of the signed-in account ends; returns how many."""
        stored, session = await self.at(token, Stage.ACTIVE)
        account_id = stored.account.account_id
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            ended = await SessionRepository(conn).delete_of_account(
                account_id, keep=session.token_hash
            )
            await self._audit.record(conn, PLATFORM_CHAIN, SessionsEnded(account_id, ended), actor)
        return ended


def _session(account: Account, session: StoredSession) -> Session:
    return Session(
        account,
        session.stage,
        session.csrf_token,
        session.created_at,
        session.last_seen_at,
        session.authenticated_at,
    )
