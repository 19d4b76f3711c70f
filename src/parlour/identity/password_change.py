"""Changing the password of the signed-in account, after a fresh step-up (T-42). Ending every
other session is offered, and is the default (V7.4.3)."""

from __future__ import annotations

import asyncio

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType, PasswordChanged
from parlour.audit.service import AuditLog
from parlour.identity.models import Stage
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository
from parlour.identity.session_repository import SessionRepository
from parlour.identity.sessions import Sessions
from parlour.identity.step_up import StepUp
from parlour.storage.database import Database


class PasswordChange:
    """Reads no clock of its own: the step-up it requires does."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        passwords: Passwords,
        sessions: Sessions,
        step_up: StepUp,
    ) -> None:
        self._db = db
        self._audit = audit
        self._passwords = passwords
        self._sessions = sessions
        self._step_up = step_up

    async def change(
        self, token: str, password: str, *, end_other_sessions: bool, source_ip: str | None
    ) -> int:
        """A new password; with `end_other_sessions`, every other session ends too. Returns
        how many ended."""
        stored, session = await self._sessions.at(token, Stage.ACTIVE)
        self._step_up.require_recent(session)
        account_id = stored.account.account_id
        check_password(password, email=stored.account.email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            await AccountRepository(conn).set_password_hash(account_id, password_hash)
            ended = 0
            if end_other_sessions:
                ended = await SessionRepository(conn).delete_of_account(
                    account_id, keep=session.token_hash
                )
            event = PasswordChanged(account_id, ended)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
        return ended
