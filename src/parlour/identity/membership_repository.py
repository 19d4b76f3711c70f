"""SQL for who belongs to which organisation with which role, and the invitations to join."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.identity.models import Invitation, Membership, Role, TeamMember
from parlour.storage.tables import accounts, invitations, memberships


class MembershipRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, account_id: str, tenant_id: str, role: Role, now: datetime) -> None:
        await self._conn.execute(
            insert(memberships).values(
                account_id=account_id, tenant_id=tenant_id, role=role.value, created_at=now
            )
        )

    async def replace(self, account_id: str, tenant_id: str, role: Role, now: datetime) -> None:
        await self._conn.execute(
            delete(memberships).where(
                memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
            )
        )
        await self.add(account_id, tenant_id, role, now)

    async def get(self, account_id: str, tenant_id: str) -> Membership | None:
        row = (
            await self._conn.execute(
                select(memberships).where(
                    memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
                )
            )
        ).first()
        return Membership(row.account_id, row.tenant_id, Role(row.role)) if row else None

    async def of_account(self, account_id: str) -> list[Membership]:
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

    async def remove(self, account_id: str, tenant_id: str) -> None:
        await self._conn.execute(
            delete(memberships).where(
                memberships.c.account_id == account_id, memberships.c.tenant_id == tenant_id
            )
        )


class InvitationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, invitation: Invitation, token_hash: str) -> None:
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

    async def open_of_tenant(self, tenant_id: str, now: datetime) -> list[Invitation]:
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

    async def open_to(self, email: str, now: datetime) -> list[Invitation]:
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

    async def open_by_token(self, token_hash: str, now: datetime) -> Invitation | None:
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

    async def accept(self, invitation_id: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(invitations)
            .where(
                invitations.c.invitation_id == invitation_id, invitations.c.accepted_at.is_(None)
            )
            .values(accepted_at=now)
        )
        return result.rowcount == 1

    async def delete(self, tenant_id: str, invitation_id: str) -> bool:
        result = await self._conn.execute(
            delete(invitations).where(
                invitations.c.tenant_id == tenant_id,
                invitations.c.invitation_id == invitation_id,
                invitations.c.accepted_at.is_(None),
            )
        )
        return result.rowcount == 1


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
