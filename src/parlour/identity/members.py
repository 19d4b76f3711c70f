"""Who belongs to an organisation: invitations by e-mail, roles, and removal.

An invitation is a mailed link whose token only the invited address receives. A person without
an account makes one from the link (the token proves the address); one with an account logs in
(password and second factor) and finds the invitation waiting for that same address. Only an
owner makes, unmakes or removes an owner, and the last owner can be neither demoted nor removed,
so an organisation is never left without one. Removal takes effect on the member's next request, as
every request re-reads the membership.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    PLATFORM_CHAIN,
    Actor,
    ActorType,
    EmailVerified,
    InvitationRevoked,
    MemberAdded,
    MemberInvited,
    MemberRemoved,
    MemberRoleChanged,
    PasswordReset,
)
from parlour.audit.service import AuditLog
from parlour.crypto.digest import sha256_hex
from parlour.crypto.vault import Vault
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identity.accounts import create_account, normalise_email
from parlour.identity.errors import NotPermitted, TooManyAttempts
from parlour.identity.mail import Mailer, MailUnavailable
from parlour.identity.membership_repository import InvitationRepository, MembershipRepository
from parlour.identity.models import Invitation, Membership, Role, Session, Stage, TeamMember
from parlour.identity.passwords import Passwords, check_password
from parlour.identity.repository import AccountRepository
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.service import TenantService

INVITATION_LIFETIME = timedelta(days=7)


class InvitationInvalid(InvalidInput):
    code = "invitation_invalid"
    default_message = "This invitation is not valid any more; ask for a new one."


class LastOwner(Conflict):
    code = "last_owner"
    default_message = "An organisation needs an owner: make someone else owner first."


class MemberService:
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
        self._clock = clock

    async def members(self, tenant_id: str) -> list[TeamMember]:
        async with self._db.read() as conn:
            return await MembershipRepository(conn).members_of(tenant_id)

    async def invitations(self, tenant_id: str) -> list[Invitation]:
        """Invitations not yet accepted nor expired."""
        async with self._db.read() as conn:
            return await InvitationRepository(conn).open_of_tenant(tenant_id, self._clock())

    async def add(self, tenant_id: str, email: str, role: Role, *, actor: Actor) -> None:
        """Give an existing account a role at once: the platform operator's CLI."""
        now = self._clock()
        async with self._db.transaction() as conn:
            stored = await AccountRepository(conn).by_email(normalise_email(email))
            if stored is None:
                raise NotFound("no account has this e-mail address")
            account_id = stored.account.account_id
            await MembershipRepository(conn).replace(account_id, tenant_id, role, now)
            await self._audit.record(conn, tenant_id, MemberAdded(account_id, role.value), actor)

    async def set_up_demo_member(
        self, tenant_id: str, email: str, password: str, role: Role, *, actor: Actor
    ) -> None:
        """An account with this password that is a member with `role` at once: only for
        `parlour demo`, which prints a fresh random password on the terminal that started it on
        every run, so that a person can answer its handoffs. No route and no operator command
        reaches this (T-45); the first login still enrols an authenticator."""
        email = normalise_email(email)
        check_password(password, email=email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        now = self._clock()
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            stored = await repo.by_email(email)
            if stored is None:
                made = await create_account(
                    conn, self._vault, self._audit, email, password_hash, now, None
                )
                account_id = made.id
                await repo.mark_email_verified(account_id, now)
                await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(account_id), actor)
            else:
                account_id = stored.account.account_id
                await repo.set_password_hash(account_id, password_hash)
                reset = PasswordReset(account_id, 0)
                await self._audit.record(conn, PLATFORM_CHAIN, reset, actor)
            memberships = MembershipRepository(conn)
            if await memberships.get(account_id, tenant_id) is None:
                await memberships.replace(account_id, tenant_id, role, now)
                added = MemberAdded(account_id, role.value)
                await self._audit.record(conn, tenant_id, added, actor)

    async def invite(
        self, tenant_id: str, email: str, role: Role, *, by: Membership, actor: Actor
    ) -> Invitation:
        """Mail a link that lets the address join with `role`. The inviter learns nothing about
        whether the address has an account."""
        email = normalise_email(email)
        _may_grant(by, role)
        if not await self._limits.allow("mails", f"invitations:{tenant_id}"):
            raise TooManyAttempts()
        now = self._clock()
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            invitation_id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            email=email,
            role=role,
            invited_by=by.account_id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        async with self._db.transaction() as conn:
            if any(
                m.email == email for m in await MembershipRepository(conn).members_of(tenant_id)
            ):
                raise Conflict("this address is already a member")
            await InvitationRepository(conn).insert(invitation, sha256_hex(token))
            event = MemberInvited(invitation.invitation_id, role.value)
            await self._audit.record(conn, tenant_id, event, actor)
        organisation = (await self._tenants.get(tenant_id)).name
        link = f"{self._public_url}/dashboard/invitation?token={token}"
        try:
            await self._mailer.send(
                email,
                f"You are invited to {organisation} on Parlour",
                f"You are invited to join {organisation} on Parlour as {role.value}. Open this "
                f"link to accept:\n\n{link}\n\nIt works once, for {INVITATION_LIFETIME.days} "
                "days. If you did not expect it, ignore this mail.",
            )
        except MailUnavailable:
            # Nobody holds the link: the invitation is taken back, so that the list of open
            # invitations shows only those that were sent, and inviting again starts clean.
            await self.revoke_invitation(tenant_id, invitation.invitation_id, actor=actor)
            raise
        return invitation

    async def revoke_invitation(self, tenant_id: str, invitation_id: str, *, actor: Actor) -> None:
        async with self._db.transaction() as conn:
            if not await InvitationRepository(conn).delete(tenant_id, invitation_id):
                raise NotFound("no such open invitation")
            await self._audit.record(conn, tenant_id, InvitationRevoked(invitation_id), actor)

    async def invitation(self, token: str) -> tuple[Invitation, str, bool]:
        """What a link invites to: the invitation, the organisation's name, and whether the
        address already has an account (the link's holder owns the address)."""
        async with self._db.read() as conn:
            invitation = await InvitationRepository(conn).open_by_token(
                sha256_hex(token), self._clock()
            )
            if invitation is None:
                raise InvitationInvalid()
            has_account = await AccountRepository(conn).by_email(invitation.email) is not None
        tenant = await self._tenants.get(invitation.tenant_id)
        return invitation, tenant.name, has_account

    async def invitations_for(self, session: Session) -> list[tuple[Invitation, str]]:
        """Open invitations addressed to the signed-in account, with each organisation's name."""
        async with self._db.read() as conn:
            found = await InvitationRepository(conn).open_to(session.account.email, self._clock())
        return [(i, (await self._tenants.get(i.tenant_id)).name) for i in found]

    async def accept(
        self, invitation_id: str, session: Session, *, source_ip: str | None
    ) -> Membership:
        """Join as the signed-in account. Its address was proven at sign-up and the login took
        a second factor, so the mailed token is not needed again; the address must match."""
        if session.stage is not Stage.ACTIVE or not session.account.email_verified:
            raise NotPermitted()
        now = self._clock()
        actor = Actor(ActorType.ACCOUNT, session.account.account_id, source_ip=source_ip)
        async with self._db.transaction() as conn:
            invitations = await InvitationRepository(conn).open_to(session.account.email, now)
            invitation = next((i for i in invitations if i.invitation_id == invitation_id), None)
            if invitation is None:
                raise InvitationInvalid()
            return await self._join(conn, invitation, session.account.account_id, actor)

    async def sign_up_invited(self, token: str, password: str, *, source_ip: str | None) -> None:
        """A new account for the invited address, already a member; the link proves the address.
        Its first login enrols an authenticator, as every account's does."""
        now = self._clock()
        async with self._db.read() as conn:
            invitation = await InvitationRepository(conn).open_by_token(sha256_hex(token), now)
        if invitation is None:
            raise InvitationInvalid()
        check_password(password, email=invitation.email)
        password_hash = await asyncio.to_thread(self._passwords.hash, password)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.by_email(invitation.email) is not None:
                raise Conflict("This address has an account: log in to accept the invitation.")
            actor = await create_account(
                conn, self._vault, self._audit, invitation.email, password_hash, now, source_ip
            )
            await repo.mark_email_verified(actor.id, now)
            await self._audit.record(conn, PLATFORM_CHAIN, EmailVerified(actor.id), actor)
            await self._join(conn, invitation, actor.id, actor)

    async def _join(
        self, conn: AsyncConnection, invitation: Invitation, account_id: str, actor: Actor
    ) -> Membership:
        if not await InvitationRepository(conn).accept(invitation.invitation_id, self._clock()):
            raise InvitationInvalid()
        memberships = MembershipRepository(conn)
        existing = await memberships.get(account_id, invitation.tenant_id)
        if existing is not None:
            return existing  # already in: the invitation is spent, the role unchanged
        await memberships.add(account_id, invitation.tenant_id, invitation.role, self._clock())
        event = MemberAdded(account_id, invitation.role.value)
        await self._audit.record(conn, invitation.tenant_id, event, actor)
        return Membership(account_id, invitation.tenant_id, invitation.role)

    async def change_role(
        self, tenant_id: str, account_id: str, role: Role, *, by: Membership, actor: Actor
    ) -> None:
        async with self._db.transaction() as conn:
            repo = MembershipRepository(conn)
            current = await self._target(repo, tenant_id, account_id, by)
            _may_grant(by, role)
            if current.role is Role.OWNER and role is not Role.OWNER:
                await _keep_an_owner(repo, tenant_id)
            await repo.set_role(account_id, tenant_id, role)
            event = MemberRoleChanged(account_id, role.value, current.role.value)
            await self._audit.record(conn, tenant_id, event, actor)

    async def remove(
        self, tenant_id: str, account_id: str, *, by: Membership, actor: Actor
    ) -> None:
        async with self._db.transaction() as conn:
            repo = MembershipRepository(conn)
            current = await self._target(repo, tenant_id, account_id, by)
            if current.role is Role.OWNER:
                await _keep_an_owner(repo, tenant_id)
            await repo.remove(account_id, tenant_id)
            event = MemberRemoved(account_id, current.role.value)
            await self._audit.record(conn, tenant_id, event, actor)

    @staticmethod
    async def _target(
        repo: MembershipRepository, tenant_id: str, account_id: str, by: Membership
    ) -> Membership:
        current = await repo.get(account_id, tenant_id)
        if current is None:
            raise NotFound("no such member")
        _may_grant(by, current.role)
        return current


def _may_grant(by: Membership, role: Role) -> None:
    """Only an owner makes, changes or removes an owner."""
    if role is Role.OWNER and by.role is not Role.OWNER:
        raise NotPermitted("Only an owner can do that to an owner.")


async def _keep_an_owner(repo: MembershipRepository, tenant_id: str) -> None:
    if await repo.count_owners(tenant_id) <= 1:
        raise LastOwner()
