"""Enrolling an authenticator: a new TOTP seed, pending until a code from it is right, then ten
recovery codes shown once. A first enrolment happens during login (MFA is not optional, T-38);
replacing an authenticator needs a fresh step-up (T-42)."""

from __future__ import annotations

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType, MfaEnrolled
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, Vault
from parlour.errors import InvalidInput
from parlour.identity import totp
from parlour.identity.errors import InvalidCode, TooManyAttempts
from parlour.identity.models import Enrolment, IssuedSession, Stage
from parlour.identity.repository import AccountRepository, StoredAccount
from parlour.identity.session_repository import SessionRepository
from parlour.identity.sessions import Sessions
from parlour.identity.step_up import StepUp
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

# The name an authenticator app shows beside the account.
ISSUER = "Parlour"


class MfaEnrolment:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        limits: RateLimits,
        sessions: Sessions,
        step_up: StepUp,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._limits = limits
        self._sessions = sessions
        self._step_up = step_up
        self._clock = clock

    async def begin(self, token: str) -> Enrolment:
        """A new seed, pending until a code from it is confirmed."""
        account = (await self._enrolling(token)).account
        seed = totp.new_seed()
        cipher = await self._vault.cipher(account.account_id)
        sealed = cipher.seal_text(seed, Place("accounts", account.account_id, "totp_pending"))
        async with self._db.transaction() as conn:
            await AccountRepository(conn).set_pending_seed(account.account_id, sealed)
        return Enrolment(seed, totp.provisioning_uri(seed, account.email, ISSUER))

    async def pending(self, token: str) -> Enrolment:
        """The seed begun and not yet confirmed, to show again after a wrong or expired code:
        the person has scanned it already, and a new one would make them scan again."""
        stored = await self._enrolling(token)
        seed = await self._pending_seed(stored)
        return Enrolment(seed, totp.provisioning_uri(seed, stored.account.email, ISSUER))

    async def confirm(
        self, token: str, code: str, *, source_ip: str | None
    ) -> tuple[IssuedSession, list[str]]:
        """Switch to the pending seed once a code from it is right; returns a new ACTIVE session
        and ten recovery codes, shown this once. Other sessions of the account end."""
        stored = await self._enrolling(token)
        account = stored.account
        seed = await self._pending_seed(stored)
        if not await self._limits.allow("codes", account.account_id):
            raise TooManyAttempts()
        step = totp.accepted_step(seed, code, self._clock(), after=None)
        if step is None:
            raise InvalidCode()
        cipher = await self._vault.cipher(account.account_id)
        sealed = cipher.seal_text(seed, Place("accounts", account.account_id, "totp_seed"))
        codes = totp.new_recovery_codes()
        actor = Actor(ActorType.ACCOUNT, account.account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            await repo.enable_mfa(account.account_id, sealed, step)
            await repo.replace_recovery_codes(
                account.account_id, [totp.recovery_code_hash(c) for c in codes]
            )
            await SessionRepository(conn).delete_of_account(account.account_id)
            issued = await self._sessions.issue(conn, account.account_id, Stage.ACTIVE, source_ip)
            await self._audit.record(conn, PLATFORM_CHAIN, MfaEnrolled(account.account_id), actor)
        return issued, codes

    async def _enrolling(self, token: str) -> StoredAccount:
        """The account of a session that may enrol: one in its first login's enrolment step,
        or an active one whose password and code were given a moment ago."""
        stored, session = await self._sessions.at(token, Stage.MFA_ENROLMENT, Stage.ACTIVE)
        if session.stage is Stage.ACTIVE:
            self._step_up.require_recent(session)
        return stored

    async def _pending_seed(self, stored: StoredAccount) -> str:
        account_id = stored.account.account_id
        if stored.totp_pending_sealed is None:
            raise InvalidInput("Start enrolment first.")
        cipher = await self._vault.cipher(account_id)
        return cipher.open_text(
            stored.totp_pending_sealed, Place("accounts", account_id, "totp_pending")
        )
