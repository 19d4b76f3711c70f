"""Platform staff (operators and superadmins), made from the server only: the CLI, never an API
(T-45). Nobody sets another person's password: a new staff account's owner chooses theirs from
a mailed link, which proves the address."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from parlour.audit.events import (
    PLATFORM_CHAIN,
    Actor,
    ActorType,
    EmailVerified,
    PasswordReset,
    PlatformRoleSet,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Vault
from parlour.errors import InvalidInput, NotFound
from parlour.identity import mailed_links
from parlour.identity.accounts import create_account, normalise_email
from parlour.identity.mail import Mailer
from parlour.identity.models import Account, PlatformRole
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository
from parlour.identity.session_repository import SessionRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

_INVALID = "This link is not valid any more; ask your platform's administrator again."


class PlatformStaff:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        passwords: Passwords,
        mailer: Mailer,
        *,
        public_url: str,
        link_lifetime: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._passwords = passwords
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")
        self._link_lifetime = link_lifetime
        self._clock = clock

    async def set_role(self, email: str, role: PlatformRole | None, *, actor: Actor) -> Account:
        """Make an existing account a platform operator or superadmin (or neither)."""
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

    async def add(self, email: str, role: PlatformRole, *, actor: Actor) -> bool:
        """The address's account gets `role` now, and one is made if there is none. A new
        account has no organisation and a password nobody knows, until a mailed link lets its
        owner choose one. Its first login enrols an authenticator, as every account's does. An
        account whose address is not confirmed yet gets a new link. Returns whether a link was
        mailed."""
        email = normalise_email(email)
        unknown = await asyncio.to_thread(self._passwords.hash, secrets.token_urlsafe(32))
        now = self._clock()
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
                expires = now + self._link_lifetime
                token = await mailed_links.issue(conn, account_id, mailed_links.WELCOME, expires)
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
            f"{self._link_lifetime.total_seconds() / 3600:g} hours. Your first login then "
            "sets up two-step login with an authenticator app.",
        )
        return True

    async def choose_first_password(
        self, token: str, password: str, *, source_ip: str | None
    ) -> None:
        """The first password of an account made from the server, from its mailed link; the
        link proves the address, which is confirmed with it."""
        now = self._clock()
        async with self._db.read() as conn:
            account_id = await mailed_links.peek(conn, token, mailed_links.WELCOME, now)
            stored = await AccountRepository(conn).get(account_id) if account_id else None
        if stored is None or stored.account.disabled:
            raise InvalidInput(_INVALID)
        check_password(password, email=stored.account.email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        account_id = stored.account.account_id
        actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            if await mailed_links.spend(conn, token, mailed_links.WELCOME, now) is None:
                raise InvalidInput(_INVALID)
            repo = AccountRepository(conn)
            await repo.set_password_hash(account_id, password_hash)
            await repo.mark_email_verified(account_id, now)
            ended = await SessionRepository(conn).delete_of_account(account_id)
            await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(account_id), actor)
            await self._audit.record(conn, PLATFORM_CHAIN, PasswordReset(account_id, ended), actor)
