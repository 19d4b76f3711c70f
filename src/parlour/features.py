"""An organisation's feature switches, as its members see and change them on one page: whether
visitors may chat without signing in and whether they may ask for a person at any time (kept by
tenants, as the chat reads them) and four of the assistant's policy (kept by the assistant, as a
turn reads it). Whom a customer can reach (chat's `Reachability`) is read from both.

The switches live in two packages, each of which records its own audit event; this module is the
one use case over both. It sits above them both, since tenants may not import the assistant.
Reading the switches is one transaction, and so is changing any of them, so a page never shows
half a change and a change is never half made."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.assistant.configuration import AssistantConfiguration
from parlour.assistant.repository import AssistantRepository
from parlour.audit.events import Actor
from parlour.chat.reach import Reach
from parlour.errors import NotFound
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.policy import Permission, role_grants
from parlour.storage.database import Database
from parlour.tenants.repository import TenantRepository
from parlour.tenants.service import TenantService


@dataclass(frozen=True, slots=True)
class Features:
    anonymous_visitors: bool  # visitors may chat without signing in
    assistant_enabled: bool  # the assistant answers; off, people do
    function_calling: bool  # the model may propose calls to allowlisted tools
    external_llms: bool  # prompts may go to an external provider, where the platform allows one
    personalisation: bool  # the assistant is told the customer's name and e-mail
    talk_to_a_person: bool  # customers may ask for a person at any time, where there are people


@dataclass(frozen=True, slots=True)
class FeatureChanges:
    """The switches to set; one left None keeps its value."""

    anonymous_visitors: bool | None = None
    assistant_enabled: bool | None = None
    function_calling: bool | None = None
    external_llms: bool | None = None
    personalisation: bool | None = None
    talk_to_a_person: bool | None = None


class OrganisationFeatures:
    def __init__(
        self, db: Database, tenants: TenantService, assistant: AssistantConfiguration
    ) -> None:
        self._db = db
        self._tenants = tenants
        self._assistant = assistant

    async def of(self, tenant_id: str) -> Features:
        async with self._db.read(tenant_id) as conn:
            return await _features(conn, tenant_id)

    async def change(self, tenant_id: str, wanted: FeatureChanges, *, actor: Actor) -> Features:
        """Set the switches asked for, each audited; the switches as they now are."""
        async with self._db.transaction(tenant_id) as conn:
            if wanted.talk_to_a_person is not None:
                await self._tenants.set_talk_to_a_person_in(
                    conn, tenant_id, wanted.talk_to_a_person, actor=actor
                )
            if wanted.anonymous_visitors is not None:
                await self._tenants.set_anonymous_visitors_in(
                    conn, tenant_id, wanted.anonymous_visitors, actor=actor
                )
            assistant = (
                wanted.assistant_enabled,
                wanted.function_calling,
                wanted.external_llms,
                wanted.personalisation,
            )
            if any(choice is not None for choice in assistant):
                await self._assistant.set_policy_in(
                    conn,
                    tenant_id,
                    actor=actor,
                    enabled=wanted.assistant_enabled,
                    tools_enabled=wanted.function_calling,
                    external_consent=wanted.external_llms,
                    personalisation=wanted.personalisation,
                )
            return await _features(conn, tenant_id)

    async def reach(self, tenant_id: str) -> Reach:
        """Whom its customers can reach (chat's `Reachability`): people when it lets them ask
        and at least one member's role handles conversations; the assistant unless it is off."""
        async with self._db.read(tenant_id) as conn:
            features = await _features(conn, tenant_id)
            members = await MembershipRepository(conn).members_of(tenant_id)
        handlers = any(role_grants(m.role, Permission.HANDLE_CONVERSATIONS) for m in members)
        return Reach(
            people=features.talk_to_a_person and handlers,
            assistant=features.assistant_enabled,
        )


async def _features(conn: AsyncConnection, tenant_id: str) -> Features:
    tenant = await TenantRepository(conn).get(tenant_id)
    if tenant is None:
        raise NotFound("no such organisation")
    policy = await AssistantRepository(conn).policy(tenant_id)
    return Features(
        anonymous_visitors=tenant.anonymous_visitors,
        assistant_enabled=policy.enabled,
        function_calling=policy.tools_enabled,
        external_llms=policy.external_consent,
        personalisation=policy.personalisation,
        talk_to_a_person=tenant.talk_to_a_person,
    )
