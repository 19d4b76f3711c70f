"""Dashboard accounts from sign-up to sign-out.

A login is two steps on one server-side session: the password opens a session that can do one
thing next (enter a code, or enrol an authenticator when the account has none); the code makes
it ACTIVE under a new reference, so a reference seen before login is worthless after it
(fixation, T-41). MFA is not optional (T-38). Secrets, MFA and allowlist changes need a fresh
step-up (T-42). Failures say the same thing whatever failed (T-40) and go to the security log;
the audit chain records what changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    PLATFORM_CHAIN,
    AccountCreated,
    AccountDisabled,
    Actor,
    ActorType,
    EmailVerified,
    MemberAdded,
    MfaEnrolled,
    PasswordChanged,
    PasswordReset,
    PlatformRoleSet,
    SessionsEnded,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, Vault
from parlour.errors import InvalidInput, NotFound
from parlour.identifiers import check_identifier
from parlour.identity import totp
from parlour.identity.errors import (
    EmailNotVerified,
    InvalidCode,
    InvalidCredentials,
    ReauthenticationRequired,
    SessionRequired,
    TooManyAttempts,
    WrongStage,
)
from parlour.identity.mail import Mailer
from parlour.identity.models import (
    Account,
    Enrolment,
    IssuedSession,
    PlatformRole,
    Role,
    Session,
    Stage,
)
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository, StoredAccount, StoredSession
from parlour.observability import security_event
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import utcnow
from parlour.tenants.models import Verification
from parlour.tenants.service import TenantService, organisation_name

ISSUER = "Parlour"
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}")
_TOUCH_EVERY = timedelta(seconds=60)
RESET_TOKEN_LIFETIME = timedelta(hours=1)
# The purpose of the link that lets platform staff made from the server choose a first password.
WELCOME = "welcome"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    reauthentication: timedelta
    email_token: timedelta


async def create_account(
    conn: AsyncConnection,
    vault: Vault,
    audit: AuditLog,
    email: str,
    password_hash: str,
    now: datetime,
    source_ip: str | None,
) -> Actor:
    """A new account, inside the caller's transaction; returns it as the actor of what follows."""
    account_id = str(uuid.uuid4())
    actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
    await AccountRepository(conn).insert(account_id, email, password_hash, now)
    # The account's own data key seals its TOTP seed, and dies with the account.
    await vault.create_tenant_key(conn, account_id)
    await audit.record(conn, PLATFORM_CHAIN, AccountCreated(account_id), actor)
    return actor


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    email = check_identifier(email.strip(), "an e-mail address").lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise InvalidInput("Enter an e-mail address like name@example.com.")
    return email


class IdentityService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        tenants: TenantService,
        passwords: Passwords,
        mailer: Mailer,
        limits: RateLimits,
        policy: SessionPolicy,
        *,
        public_url: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._tenants = tenants
        self._passwords = passwords
        self._mailer = mailer
        self._limits = limits
        self._policy = policy
        self._public_url = public_url.rstrip("/")
        # TOTP steps, session timeouts and link expiry all read this clock.
        self._clock = clock

    async def prepare(self) -> None:
        """Before serving: the decoy hash an unknown login is checked against (T-40)."""
        await asyncio.to_thread(self._passwords.prepare)

    # Sign-up and e-mail

    async def sign_up(
        self, email: str, password: str, organisation: str, *, source_ip: str | None
    ) -> None:
        """Create the account and its organisation (the account owns it) and mail a link to
        confirm the address. An address that already has an account gets a note instead, and
        the caller sees the same outcome either way: sign-up does not reveal who has an account.
        """
        # Everything the request could be refused for is checked before the address is looked
        # up, so that no answer depends on whether it has an account.
        email = normalise_email(email)
        organisation = organisation_name(organisation)
        check_password(password, email=email)
        if not await self._limits.allow("mails", source_ip or "unknown"):
            raise TooManyAttempts()
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            existing = await repo.by_email(email)
            if existing is None:
                now = self._clock()
                actor = await create_account(
                    conn, self._vault, self._audit, email, password_hash, now, source_ip
                )
                account_id = actor.id
                tenant = await self._tenants.create_in(
                    conn, organisation, actor=actor, verification=Verification.PENDING
                )
                await repo.add_membership(account_id, tenant.tenant_id, Role.OWNER, now)
                await self._audit.record(
                    conn, tenant.tenant_id, MemberAdded(account_id, Role.OWNER.value), actor
                )
                token = secrets.token_urlsafe(32)
                expires = now + self._policy.email_token
                await repo.insert_email_token(digest(token), account_id, "verify", expires)
        if existing is None:
            link = f"{self._public_url}/dashboard/verify-email?token={token}"
            await self._mailer.send(
                email,
                "Confirm your e-mail address for Parlour",
                f"Open this link to confirm your address and finish signing up:\n\n{link}\n\n"
                f"It works once, for {self._policy.email_token.total_seconds() / 3600:g} hours.",
            )
        else:
            await self._mailer.send(
                email,
                "You already have a Parlour account",
                "Someone, perhaps you, tried to sign up with this address. You already have an "
                "account: sign in instead. If this was not you, nothing needs doing.",
            )

    async def verify_email(self, token: str, *, source_ip: str | None) -> None:
        now = self._clock()
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            account_id = await repo.use_email_token(digest(token), "verify", now)
            if account_id is None:
                raise InvalidInput("This link is not valid any more; sign in to get a new one.")
            await repo.mark_email_verified(account_id, now)
            actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
            await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(account_id), actor)

    # Password reset

    async def request_password_reset(self, email: str, *, source_ip: str | None) -> None:
        """Mail a one-hour reset link, if the address has an account; the caller sees the same
        outcome either way."""
        if not await self._limits.allow("mails", source_ip or "unknown"):
            raise TooManyAttempts()
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            stored = await repo.by_email(normalise_email(email))
            if stored is None or stored.account.disabled:
                security_event("password_reset.unknown", ip=source_ip)
                return
            token = secrets.token_urlsafe(32)
            expires = self._clock() + RESET_TOKEN_LIFETIME
            await repo.insert_email_token(
                digest(token), stored.account.account_id, "reset", expires
            )
        link = f"{self._public_url}/dashboard/reset?token={token}"
        await self._mailer.send(
            stored.account.email,
            "Reset your Parlour password",
            f"Open this link to choose a new password:\n\n{link}\n\nIt works once, for an "
            "hour, and you will need a code from your authenticator app (or a recovery code). "
            "If you did not ask for this, ignore this mail: your password is unchanged.",
        )

    async def reset_password(
        self, token: str, password: str, code: str, *, source_ip: str | None
    ) -> None:
        """A new password from a mailed link. A reset never skips the second factor (T-45): the
        link and a code are both needed. Every session of the account ends."""
        now = self._clock()
        async with self._db.read() as conn:
            repo = AccountRepository(conn)
            account_id = await repo.peek_email_token(digest(token), "reset", now)
            stored = await repo.get(account_id) if account_id else None
        if stored is None or stored.account.disabled:
            raise InvalidInput("This link is not valid any more; ask for a new one.")
        check_password(password, email=stored.account.email)
        if stored.account.mfa_enabled:
            await self._check_code(stored, code, source_ip)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        actor = Actor(ActorType.ACCOUNT, stored.account.account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.use_email_token(digest(token), "reset", now) is None:
                raise InvalidInput("This link is not valid any more; ask for a new one.")
            await repo.set_password_hash(stored.account.account_id, password_hash)
            ended = await repo.delete_sessions(stored.account.account_id)
            event = PasswordReset(stored.account.account_id, ended)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)

    # Logging in

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
            repo = AccountRepository(conn)
            if self._passwords.needs_rehash(stored.password_hash):
                rehashed = await asyncio.to_thread(self._passwords.hash, password)
                await repo.set_password_hash(account.account_id, rehashed)
            stage = Stage.MFA_REQUIRED if account.mfa_enabled else Stage.MFA_ENROLMENT
            issued = await self._issue(repo, account.account_id, stage, source_ip)
        security_event("login.password_accepted", account_id=account.account_id, ip=source_ip)
        return issued

    async def complete_login(
        self, token: str, code: str, *, source_ip: str | None
    ) -> IssuedSession:
        """The second factor: a TOTP code or an unused recovery code. The session is replaced."""
        stored, session = await self._session_at(token, Stage.MFA_REQUIRED)
        await self._check_code(stored, code, source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            await repo.delete_session(session.token_hash)
            issued = await self._issue(repo, stored.account.account_id, Stage.ACTIVE, source_ip)
        security_event("login.succeeded", account_id=stored.account.account_id, ip=source_ip)
        return issued

    # MFA enrolment

    async def begin_enrolment(self, token: str) -> Enrolment:
        """A new seed, pending until a code from it is confirmed. A first enrolment happens
        during login; replacing an authenticator needs a fresh step-up."""
        account = (await self._enrolling(token)).account
        seed = totp.new_seed()
        cipher = await self._vault.cipher(account.account_id)
        sealed = cipher.seal_text(seed, Place("accounts", account.account_id, "totp_pending"))
        async with self._db.transaction() as conn:
            await AccountRepository(conn).set_pending_seed(account.account_id, sealed)
        return Enrolment(seed, totp.provisioning_uri(seed, account.email, ISSUER))

    async def pending_enrolment(self, token: str) -> Enrolment:
        """The seed begun and not yet confirmed, to show again after a wrong or expired code:
        the person has scanned it already, and a new one would make them scan again."""
        stored = await self._enrolling(token)
        seed = await self._pending_seed(stored)
        return Enrolment(seed, totp.provisioning_uri(seed, stored.account.email, ISSUER))

    async def confirm_enrolment(
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
            await repo.delete_sessions(account.account_id)
            issued = await self._issue(repo, account.account_id, Stage.ACTIVE, source_ip)
            await self._audit.record(conn, PLATFORM_CHAIN, MfaEnrolled(account.account_id), actor)
        return issued, codes

    # Sessions

    async def session(self, token: str | None) -> Session:
        """The ACTIVE session `token` refers to."""
        stored, session = await self._session_at(token, Stage.ACTIVE)
        return self._session(stored.account, session)

    async def pending_session(self, token: str | None) -> Session:
        """The session at whatever stage it is."""
        stored, session = await self._session_at(
            token, Stage.MFA_REQUIRED, Stage.MFA_ENROLMENT, Stage.ACTIVE
        )
        return self._session(stored.account, session)

    async def reauthenticate(
        self, token: str, password: str, code: str, *, source_ip: str | None
    ) -> IssuedSession:
        """Step-up: the password and a code again. The session is replaced, and its new
        reference carries a fresh authentication time."""
        stored, session = await self._session_at(token, Stage.ACTIVE)
        right = await asyncio.to_thread(self._passwords.verify, stored.password_hash, password)
        if not right:
            security_event("reauthentication.failed", account_id=session.account_id, ip=source_ip)
            raise InvalidCredentials()
        await self._check_code(stored, code, source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            await repo.delete_session(session.token_hash)
            return await self._issue(repo, session.account_id, Stage.ACTIVE, source_ip)

    def require_recent_authentication(self, session: Session) -> None:
        """Refuse unless the session's holder proved password and code again lately (T-42)."""
        self._require_recent(session.authenticated_at)

    def _require_recent(self, authenticated_at: datetime) -> None:
        if self._clock() - authenticated_at > self._policy.reauthentication:
            raise ReauthenticationRequired()

    async def log_out(self, token: str | None) -> None:
        if not token:
            return
        async with self._db.transaction() as conn:
            await AccountRepository(conn).delete_session(digest(token))

    async def change_password(
        self, token: str, password: str, *, end_other_sessions: bool, source_ip: str | None
    ) -> int:
        """A new password for the signed-in account, after a fresh step-up; with
        `end_other_sessions` (the default offered, V7.4.3) every other session ends too.
        Returns how many ended."""
        stored, session = await self._session_at(token, Stage.ACTIVE)
        self._require_recent(session.authenticated_at)
        account_id = stored.account.account_id
        check_password(password, email=stored.account.email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            await repo.set_password_hash(account_id, password_hash)
            ended = 0
            if end_other_sessions:
                ended = await repo.delete_sessions(account_id, keep=session.token_hash)
            event = PasswordChanged(account_id, ended)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
        return ended

    async def end_other_sessions(self, token: str, *, source_ip: str | None) -> int:
        stored, session = await self._session_at(token, Stage.ACTIVE)
        account_id = stored.account.account_id
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            ended = await AccountRepository(conn).delete_sessions(
                account_id, keep=session.token_hash
            )
            await self._audit.record(conn, PLATFORM_CHAIN, SessionsEnded(account_id, ended), actor)
        return ended

    async def disable(self, account_id: str, *, actor: Actor) -> None:
        """The account can no longer log in, and every session it has ends now (T-41)."""
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.get(account_id) is None:
                raise NotFound("no such account")
            await repo.disable(account_id, self._clock())
            ended = await repo.delete_sessions(account_id)
            await self._audit.record(
                conn, PLATFORM_CHAIN, AccountDisabled(account_id, ended), actor
            )

    async def set_platform_role(
        self, email: str, role: PlatformRole | None, *, actor: Actor
    ) -> Account:
        """Make an account a platform operator or superadmin (or neither). A server-side act:
        the CLI only, never an API (T-45)."""
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            stored = await repo.by_email(normalise_email(email))
            if stored is None:
                raise NotFound("no account has this e-mail address")
            account_id = stored.account.account_id
            await repo.set_platform_role(account_id, role)
            event = PlatformRoleSet(account_id, role.value if role else None)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
            updated = await repo.get(account_id)
        assert updated is not None
        return updated.account

    async def add_platform_staff(self, email: str, role: PlatformRole, *, actor: Actor) -> bool:
        """Platform staff, from the server (the CLI): the address's account gets `role` now,
        and one is made if there is none. A new account has no organisation and a password
        nobody knows; a mailed link, which proves the address, lets its owner choose one, so no
        one sets another person's password (T-45). Its first login enrols an authenticator, as
        every account's does. An account whose address is not confirmed yet gets a new link.
        Returns whether a link was mailed."""
        email = normalise_email(email)
        unknown = await asyncio.to_thread(self._passwords.hash, secrets.token_urlsafe(32))
        now = self._clock()
        token = secrets.token_urlsafe(32)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            stored = await repo.by_email(email)
            if stored is None:
                made = await create_account(
                    conn, self._vault, self._audit, email, unknown, now, actor.source_ip
                )
                account_id, confirmed = made.id, False
            else:
                account_id, confirmed = stored.account.account_id, stored.account.email_verified
            if not confirmed:
                expires = now + self._policy.email_token
                await repo.insert_email_token(digest(token), account_id, WELCOME, expires)
            await repo.set_platform_role(account_id, role)
            event = PlatformRoleSet(account_id, role.value)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
        if confirmed:
            return False
        link = f"{self._public_url}/dashboard/welcome?token={token}"
        await self._mailer.send(
            email,
            f"You are a Parlour platform {role.value}",
            f"An administrator of this Parlour platform made you its {role.value}. Open this "
            f"link to choose your password:\n\n{link}\n\nIt works once, for "
            f"{self._policy.email_token.total_seconds() / 3600:g} hours. Your first login then "
            "sets up two-step login with an authenticator app.",
        )
        return True

    async def choose_first_password(
        self, token: str, password: str, *, source_ip: str | None
    ) -> None:
        """The first password of an account made from the server, from its mailed link; the
        link proves the address, which is confirmed with it."""
        now = self._clock()
        invalid = "This link is not valid any more; ask your platform's administrator again."
        async with self._db.read() as conn:
            repo = AccountRepository(conn)
            account_id = await repo.peek_email_token(digest(token), WELCOME, now)
            stored = await repo.get(account_id) if account_id else None
        if stored is None or stored.account.disabled:
            raise InvalidInput(invalid)
        check_password(password, email=stored.account.email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        account_id = stored.account.account_id
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.use_email_token(digest(token), WELCOME, now) is None:
                raise InvalidInput(invalid)
            await repo.set_password_hash(account_id, password_hash)
            await repo.mark_email_verified(account_id, now)
            ended = await repo.delete_sessions(account_id)
            await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(account_id), actor)
            await self._audit.record(conn, PLATFORM_CHAIN, PasswordReset(account_id, ended), actor)

    async def account_by_email(self, email: str) -> Account | None:
        async with self._db.read() as conn:
            stored = await AccountRepository(conn).by_email(normalise_email(email))
        return stored.account if stored else None

    # Internals

    async def _issue(
        self, repo: AccountRepository, account_id: str, stage: Stage, source_ip: str | None
    ) -> IssuedSession:
        token = secrets.token_urlsafe(32)  # 256 bits (T-41 asks for at least 128)
        csrf = secrets.token_urlsafe(32)
        now = self._clock()
        await repo.insert_session(
            StoredSession(digest(token), account_id, stage, csrf, now, now, now), source_ip
        )
        return IssuedSession(token, stage, csrf)

    async def _enrolling(self, token: str) -> StoredAccount:
        """The account of a session that may enrol: one in its first login's enrolment step,
        or an active one whose password and code were given a moment ago."""
        stored, session = await self._session_at(token, Stage.MFA_ENROLMENT, Stage.ACTIVE)
        if session.stage is Stage.ACTIVE:
            self._require_recent(session.authenticated_at)
        return stored

    async def _pending_seed(self, stored: StoredAccount) -> str:
        account_id = stored.account.account_id
        if stored.totp_pending_sealed is None:
            raise InvalidInput("Start enrolment first.")
        cipher = await self._vault.cipher(account_id)
        return cipher.open_text(
            stored.totp_pending_sealed, Place("accounts", account_id, "totp_pending")
        )

    async def _session_at(
        self, token: str | None, *stages: Stage
    ) -> tuple[StoredAccount, StoredSession]:
        if not token:
            raise SessionRequired()
        now = self._clock()
        async with self._db.read() as conn:
            repo = AccountRepository(conn)
            session = await repo.session(digest(token))
            stored = await repo.get(session.account_id) if session else None
        if session is None or stored is None or stored.account.disabled:
            raise SessionRequired()
        idle = now - session.last_seen_at > self._policy.idle
        if idle or now - session.created_at > self._policy.absolute:
            await self.log_out(token)
            raise SessionRequired("Your session has ended; sign in again.")
        if session.stage not in stages:
            raise WrongStage()
        if now - session.last_seen_at > _TOUCH_EVERY:
            async with self._db.transaction() as conn:
                await AccountRepository(conn).touch_session(session.token_hash, now)
        return stored, session

    async def _check_code(self, stored: StoredAccount, code: str, source_ip: str | None) -> None:
        account_id = stored.account.account_id
        if not await self._limits.allow("codes", account_id):
            security_event("mfa.throttled", account_id=account_id, ip=source_ip)
            raise TooManyAttempts()
        if stored.totp_seed_sealed is None:
            raise InvalidCode()
        if totp.looks_like_recovery_code(code):
            async with self._db.transaction() as conn:
                used = await AccountRepository(conn).use_recovery_code(
                    account_id, totp.recovery_code_hash(code), self._clock()
                )
            if used:
                security_event("mfa.recovery_code_used", account_id=account_id, ip=source_ip)
                return
        else:
            cipher = await self._vault.cipher(account_id)
            seed = cipher.open_text(
                stored.totp_seed_sealed, Place("accounts", account_id, "totp_seed")
            )
            step = totp.accepted_step(seed, code, self._clock(), after=stored.totp_last_step)
            if step is not None:
                async with self._db.transaction() as conn:
                    if await AccountRepository(conn).claim_step(account_id, step):
                        return
        security_event("mfa.failed", account_id=account_id, ip=source_ip)
        raise InvalidCode()

    def _session(self, account: Account, session: StoredSession) -> Session:
        return Session(
            account,
            session.stage,
            session.csrf_token,
            session.created_at,
            session.last_seen_at,
            session.authenticated_at,
        )
