"""An operator's decision on an organisation, with four eyes: no operator verifies (or rejects)
an organisation they belong to while another operator could decide instead.

A platform with a single operator (the usual first installation: one self-hoster, who signed
up their own organisation) could otherwise never verify that operator's organisation. There the
sole operator may decide, and the decision is marked as on their own organisation in the audit
event, in the organisation's chain and the platform's, for anyone to review later. As soon as a
second account holds a platform role that verifies, the rule is strict again.
"""

from __future__ import annotations

from parlour.audit.events import Actor
from parlour.identity.errors import NotPermitted
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.policy import PLATFORM_GRANTS, PlatformPermission
from parlour.identity.repository import AccountRepository
from parlour.observability import security_event
from parlour.storage.database import Database
from parlour.tenants.models import Tenant
from parlour.tenants.service import TenantService

_DECIDERS = [
    role
    for role, grants in PLATFORM_GRANTS.items()
    if PlatformPermission.VERIFY_ORGANISATIONS in grants
]


class OwnOrganisation(NotPermitted):
    code = "four_eyes"
    default_message = (
        "You belong to this organisation: another operator must decide on it (four eyes)."
    )


class OrganisationVerification:
    def __init__(self, db: Database, tenants: TenantService) -> None:
        self._db = db
        self._tenants = tenants

    async def decide(self, tenant_id: str, *, approve: bool, reason: str, actor: Actor) -> Tenant:
        """Record the decision of the operator `actor`, unless the organisation is their own
        and another operator could decide on it."""
        async with self._db.read() as conn:
            own = await MembershipRepository(conn).get(actor.id, tenant_id) is not None
            deciders = await AccountRepository(conn).count_platform_staff(_DECIDERS) if own else 0
        if own and deciders > 1:
            security_event(
                "verification.own_organisation", account_id=actor.id, tenant_id=tenant_id
            )
            raise OwnOrganisation()
        return await self._tenants.decide_verification(
            tenant_id, approve=approve, reason=reason, actor=actor, own_organisation=own
        )
