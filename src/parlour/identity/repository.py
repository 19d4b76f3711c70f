"""SQL for accounts, memberships, recovery codes, sessions and e-mail tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.identity.models import (
    Account,
    Invitation,
    Membership,
    PlatformRole,
    Role,
    Stage,
    TeamMember,
)
from parlour.storage.tables import (
    account_sessions,
    accounts,
    email_tokens,
    invitations,
    memberships,
    recovery_codes,
)


@dataclass(frozen=True, slots=True)
class StoredAccount:
    account: Account
    password_hash: str
    totp_seed_sealed: bytes | None
    totp_pending_sealed: bytes | None
    totp_last_step: int | None


@dataclass(frozen=True, slots=True)
class StoredSession:
    token_hash: str
    account_id: str
    stage: Stage
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime


class AccountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, account_id: str, email: str, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            insert(accounts).values(
                account_id=account_id, email=email, password_hash=password_hash, created_at=now
            )
        )

    async def by_email(self, email: str) -> StoredAccount | None:
        row = (await self._conn.execute(select(accounts).where(accounts.c.email == email))).first()
        return _stored(row) if row else None

    async def get(self, account_id: str) -> StoredAccount | None:
        row = (
            await self._conn.execute(select(accounts).where(accounts.c.account_id == account_id))
        ).first()
        return _stored(row) if row else None

    async def set_password_hash(self, account_id: str, password_hash: str) -> None:
        await self._update(account_id, password_hash=password_hash)

    async def mark_email_verified(self, account_id: str, now: datetime) -> None:
        await self._update(account_id, email_verified_at=now)

    async def set_pending_seed(self, account_id: str, sealed: bytes) -> None:
        await self._update(account_id, totp_pending_sealed=sealed)

    async def enable_mfa(self, account_id: str, sealed_seed: bytes, step: int) -> None:
        await self._update(
            account_id, totp_seed_sealed=sealed_seed, totp_pending_sealed=None, totp_last_step=step
        )

    async def claim_step(self, account_id: str, step: int) -> bool:
        """Record `step` as used, if no code of it or a later step was used before; the
        condition in the UPDATE makes two racing logins with one code succeed once."""
        result = await self._conn.execute(
            update(accounts)
            .where(
                accounts.c.account_id == account_id,
                or_(accounts.c.totp_last_step.is_(None), accounts.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    async def set_platform_role(self, account_id: str, role: PlatformRole | None) -> None:
        await self._update(account_id, platform_role=role.value if role else None)

    async def count_platform_staff(self, roles: list[PlatformRole]) -> int:
        """Accounts, not disabled, that hold one of `roles`."""
        count = await self._conn.scalar(
            select(func.count()).where(
                accounts.c.platform_role.in_([r.value for r in roles]),
                accounts.c.disabled_at.is_(None),
            )
        )
        return int(count or 0)

    async def disable(self, account_id: str, now: datetime) -> None:
        await self._update(account_id, disabled_at=now)

    async def _update(self, account_id: str, **values: object) -> None:
        await self._conn.execute(
            update(accounts).where(accounts.c.account_id == account_id).values(**values)
        )

    # Memberships

    async def add_membership(
        self, account_id: str, tenant_id: str, role: Role, now: datetime
    ) -> None:
        await self._conn.execute(
            insert(memberships).values(
                account_id=account_id, tenant_id=tenant_id, role=role.value, created_at=now
            )
        )

    async def set_membership(
        self, account_id: str, tenant_id: str, role: Role, now: datetime
    ) -> None:
        await self._conn.execute(
            delete(memberships).where(
                memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
            )
        )
        await self.add_membership(account_id, tenant_id, role, now)

    async def membership(self, account_id: str, tenant_id: str) -> Membership | None:
        row = (
            await self._conn.execute(
                select(memberships).where(
                    memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
                )
            )
        ).first()
        return Membership(row.account_id, row.tenant_id, Role(row.role)) if row else None

    async def memberships(self, account_id: str) -> list[Membership]:
        rows = await self._conn.execute(
            select(memberships).where(memberships.c.account_id == account_id)
        )
        return [Membership(r.account_id, r.tenant_id, Role(r.role)) for r in rows]

    async def members_of(self, tenant_id: str) -> list[TeamMember]:
        rows = await self._conn.execute(
            select(memberships, accounts.c.email)
            .join(accounts, accounts.c.account_id == memberships.c.account_id)
            .where(memberships.c.tenant_id == tenant_id)
            .order_by(memberships.c.created_at, accounts.c.email)
        )
        return [TeamMember(r.account_id, r.email, Role(r.role), r.created_at) for r in rows]

    async def count_owners(self, tenant_id: str) -> int:
        owners = await self._conn.execute(
            select(memberships.c.account_id).where(
                memberships.c.tenant_id == tenant_id, memberships.c.role == Role.OWNER.value
            )
        )
        return len(owners.all())

    async def set_role(self, account_id: str, tenant_id: str, role: Role) -> None:
        await self._conn.execute(
            update(memberships)
            .where(memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id)
            .values(role=role.value)
        )

    async def remove_membership(self, account_id: str, tenant_id: str) -> None:
        await self._conn.execute(
            delete(memberships).where(
                memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
            )
        )

    # Invitations

    async def insert_invitation(self, invitation: Invitation, token_hash: str) -> None:
        await self._conn.execute(
            insert(invitations).values(
                invitation_id=invitation.invitation_id,
                tenant_id=invitation.tenant_id,
                email=invitation.email,
                role=invitation.role.value,
                token_hash=token_hash,
                invited_by=invitation.invited_by,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
            )
        )

    async def open_invitations(self, tenant_id: str, now: datetime) -> list[Invitation]:
        rows = await self._conn.execute(
            select(invitations)
            .where(
                invitations.c.tenant_id == tenant_id,
                invitations.c.accepted_at.is_(None),
                invitations.c.expires_at > now,
            )
            .order_by(invitations.c.created_at)
        )
        return [_invitation(row) for row in rows]

    async def open_invitations_to(self, email: str, now: datetime) -> list[Invitation]:
        rows = await self._conn.execute(
            select(invitations)
            .where(
                invitations.c.email == email,
                invitations.c.accepted_at.is_(None),
                invitations.c.expires_at > now,
            )
            .order_by(invitations.c.created_at)
        )
        return [_invitation(row) for row in rows]

    async def open_invitation(self, token_hash: str, now: datetime) -> Invitation | None:
        row = (
            await self._conn.execute(
                select(invitations).where(
                    invitations.c.token_hash == token_hash,
                    invitations.c.accepted_at.is_(None),
                    invitations.c.expires_at > now,
                )
            )
        ).first()
        return _invitation(row) if row else None

    async def accept_invitation(self, invitation_id: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(invitations)
            .where(
                invitations.c.invitation_id == invitation_id, invitations.c.accepted_at.is_(None)
            )
            .values(accepted_at=now)
        )
        return result.rowcount == 1

    async def delete_invitation(self, tenant_id: str, invitation_id: str) -> bool:
        result = await self._conn.execute(
            delete(invitations).where(
                invitations.c.tenant_id == tenant_id,
                invitations.c.invitation_id == invitation_id,
                invitations.c.accepted_at.is_(None),
            )
        )
        return result.rowcount == 1

    # Recovery codes

    async def replace_recovery_codes(self, account_id: str, hashes: list[str]) -> None:
        await self._conn.execute(
            delete(recovery_codes).where(recovery_codes.c.account_id == account_id)
        )
        await self._conn.execute(
            insert(recovery_codes),
            [{"account_id": account_id, "code_hash": h} for h in hashes],
        )

    async def use_recovery_code(self, account_id: str, code_hash: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.account_id == account_id,
                recovery_codes.c.code_hash == code_hash,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1

    # Sessions

    async def insert_session(self, session: StoredSession, source_ip: str | None) -> None:
        await self._conn.execute(
            insert(account_sessions).values(
                token_hash=session.token_hash,
                account_id=session.account_id,
                stage=session.stage.value,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                authenticated_at=session.authenticated_at,
                source_ip=source_ip,
            )
        )

    async def session(self, token_hash: str) -> StoredSession | None:
        row = (
            await self._conn.execute(
                select(account_sessions).where(account_sessions.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return StoredSession(
            row.token_hash,
            row.account_id,
            Stage(row.stage),
            row.csrf_token,
            row.created_at,
            row.last_seen_at,
            row.authenticated_at,
        )

    async def touch_session(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(account_sessions)
            .where(account_sessions.c.token_hash == token_hash)
            .values(last_seen_at=now)
        )

    async def delete_session(self, token_hash: str) -> bool:
        result = await self._conn.execute(
            delete(account_sessions).where(account_sessions.c.token_hash == token_hash)
        )
        return result.rowcount == 1

    async def delete_sessions(self, account_id: str, *, keep: str | None = None) -> int:
        query = delete(account_sessions).where(account_sessions.c.account_id == account_id)
        if keep is not None:
            query = query.where(account_sessions.c.token_hash != keep)
        return (await self._conn.execute(query)).rowcount

    # E-mail tokens

    async def insert_email_token(
        self, token_hash: str, account_id: str, purpose: str, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(email_tokens).values(
                token_hash=token_hash, account_id=account_id, purpose=purpose, expires_at=expires_at
            )
        )

    async def peek_email_token(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """The account an unused, unexpired token is for, without spending it."""
        row = (
            await self._conn.execute(
                select(email_tokens.c.account_id).where(
                    email_tokens.c.token_hash == token_hash,
                    email_tokens.c.purpose == purpose,
                    email_tokens.c.used_at.is_(None),
                    email_tokens.c.expires_at > now,
                )
            )
        ).first()
        return str(row.account_id) if row else None

    async def use_email_token(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """The account the token was for, if it is unused and unexpired; it is spent now."""
        account_id = await self.peek_email_token(token_hash, purpose, now)
        if account_id is None:
            return None
        result = await self._conn.execute(
            update(email_tokens)
            .where(email_tokens.c.token_hash == token_hash, email_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        return account_id if result.rowcount == 1 else None


def _stored(row: Row[tuple[object, ...]]) -> StoredAccount:
    m = row._mapping
    account = Account(
        account_id=m["account_id"],
        email=m["email"],
        email_verified=m["email_verified_at"] is not None,
        mfa_enabled=m["totp_seed_sealed"] is not None,
        platform_role=PlatformRole(m["platform_role"]) if m["platform_role"] else None,
        disabled=m["disabled_at"] is not None,
        created_at=m["created_at"],
    )
    return StoredAccount(
        account,
        m["password_hash"],
        m["totp_seed_sealed"],
        m["totp_pending_sealed"],
        m["totp_last_step"],
    )


def _invitation(row: Row[tuple[object, ...]]) -> Invitation:
    m = row._mapping
    return Invitation(
        invitation_id=m["invitation_id"],
        tenant_id=m["tenant_id"],
        email=m["email"],
        role=Role(m["role"]),
        invited_by=m["invited_by"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        accepted_at=m["accepted_at"],
    )
