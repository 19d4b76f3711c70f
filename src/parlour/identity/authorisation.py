"""Who may do what, asked on every request: the role an account holds in an organisation
(T-29) and its platform role (T-45). Every refusal is a security event, and an organisation the
account does not belong to looks missing rather than forbidden, so ids reveal nothing."""

from __future__ import annotations

from parlour.errors import NotFound
from parlour.identity.errors import NotPermitted
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.models import Membership, Session
from parlour.identity.policy import (
    Permission,
    PlatformPermission,
    platform_role_grants,
    role_grants,
)
from parlour.observability import security_event
from parlour.storage.database import Database


class Authorisation:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def authorise_platform(
        self, session: Session, permission: PlatformPermission, *, source_ip: str | None
    ) -> None:
        """Refuse unless the session's account holds a platform role granting `permission`;
        the operator console looks missing to everyone else."""
        if not platform_role_grants(session.account.platform_role, permission):
            security_event(
                "authorisation.refused",
                account_id=session.account.account_id,
                permission=permission.value,
                ip=source_ip,
            )
            raise NotFound("Not found.")

    async def authorise(
        self, session: Session, tenant_id: str, permission: Permission, *, source_ip: str | None
    ) -> Membership:
        """The session's membership of `tenant_id`, if its role grants `permission`. Another
        organisation looks missing rather than forbidden, so ids reveal nothing (T-29)."""
        account_id = session.account.account_id
        async with self._db.read() as conn:
            membership = await MembershipRepository(conn).get(account_id, tenant_id)
        if membership is None or not role_grants(membership.role, permission):
            security_event(
                "authorisation.refused",
                account_id=account_id,
                tenant_id=tenant_id,
                permission=permission.value,
                member=membership is not None,
                ip=source_ip,
            )
            if membership is None:
                raise NotFound("no such organisation")
            raise NotPermitted()
        return membership

    async def memberships(self, account_id: str) -> list[Membership]:
        async with self._db.read() as conn:
            return await MembershipRepository(conn).of_account(account_id)
