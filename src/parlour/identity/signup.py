"""Signing up: an account and the organisation it owns, and a mailed link to confirm the
address. Sign-up does not reveal who has an account: an address that has one gets a note
instead, and the caller sees the same outcome either way."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from parlour.audit.events import MemberAdded
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Vault
from parlour.identity import mailed_links
from parlour.identity.accounts import create_account, normalise_email
from parlour.identity.errors import TooManyAttempts
from parlour.identity.mail import Mailer
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.models import Role
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.models import Verification
from parlour.tenants.service import TenantService, organisation_name


class SignUp:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        tenants: TenantService,
        passwords: Passwords,
        mailer: Mailer,
        limits: RateLimits,
        *,
        public_url: str,
        link_lifetime: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._tenants = tenants
        self._passwords = passwords
        self._mailer = mailer
        self._limits = limits
        self._public_url = public_url.rstrip("/")
        self._link_lifetime = link_lifetime
        self._clock = clock

    async def sign_up(
        self, email: str, password: str, organisation: str, *, source_ip: str | None
    ) -> None:
        """Create the account and its organisation (the account owns it) and mail a link to
        confirm the address, or a note to an address that has an account already."""
        # Everything the request could be refused for is checked before the address is looked
        # up, so that no answer depends on whether it has an account.
        email = normalise_email(email)
        organisation = organisation_name(organisation)
        check_password(password, email=email)
        if not await self._limits.allow("mails", source_ip or "unknown"):
            raise TooManyAttempts()
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        async with self._db.transaction() as conn:
            existing = await AccountRepository(conn).by_email(email)
            if existing is None:
                now = self._clock()
                actor = await create_account(
                    conn, self._vault, self._audit, email, password_hash, now, source_ip
                )
                account_id = actor.id
                tenant = await self._tenants.create_in(
                    conn, organisation, actor=actor, verification=Verification.PENDING
                )
                await MembershipRepository(conn).add(account_id, tenant.tenant_id, Role.OWNER, now)
                await self._audit.record(
                    conn, tenant.tenant_id, MemberAdded(account_id, Role.OWNER.value), actor
                )
                expires = now + self._link_lifetime
                token = await mailed_links.issue(conn, account_id, mailed_links.VERIFY, expires)
        if existing is None:
            link = f"{self._public_url}/dashboard/verify-email?token={token}"
            await self._mailer.send(
                email,
                "Confirm your e-mail address for Parlour",
                f"Open this link to confirm your address and finish signing up:\n\n{link}\n\n"
                f"It works once, for {self._link_lifetime.total_seconds() / 3600:g} hours.",
            )
        else:
            await self._mailer.send(
                email,
                "You already have a Parlour account",
                "Someone, perhaps you, tried to sign up with this address. You already have an "
                "account: sign in instead. If this was not you, nothing needs doing.",
            )
