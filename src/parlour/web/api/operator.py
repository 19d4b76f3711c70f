"""The operator console's API: organisations awaiting verification, and the decision on each.
Operators see an organisation's name and state, never its conversations, knowledge or keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parlour.audit.events import Actor
from parlour.identity.policy import PlatformPermission
from parlour.tenants.models import Tenant, Verification
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, platform

router = APIRouter(tags=["operator"])

Operator = Annotated[Actor, Depends(platform(PlatformPermission.VERIFY_ORGANISATIONS))]


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class OrganisationState(BaseModel):
    tenant_id: str
    name: str
    created_at: datetime
    verification: Verification
    reason: str | None


def _state(tenant: Tenant) -> OrganisationState:
    return OrganisationState(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        created_at=tenant.created_at,
        verification=tenant.verification,
        reason=tenant.verification_reason,
    )


@router.get("/v1/operator/organisations")
async def organisations(
    _: Operator,
    services: ServicesDep,
    state: Annotated[Verification, Query()] = Verification.PENDING,
) -> list[OrganisationState]:
    return [_state(t) for t in await services.tenants.by_verification(state)]


@router.post("/v1/operator/organisations/{tenant_id}/verification", dependencies=[JsonOnly])
async def decide(
    body: VerificationIn,
    tenant_id: Annotated[str, Path(min_length=1, max_length=64)],
    operator: Operator,
    services: ServicesDep,
) -> OrganisationState:
    tenant = await services.verification.decide(
        tenant_id, approve=body.decision is Decision.APPROVE, reason=body.reason, actor=operator
    )
    return _state(tenant)
