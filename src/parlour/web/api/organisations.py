"""An organisation's settings, for its members as their role allows: the REST side of the
dashboard. Every route names its policy (web/policy.py); issuing a secret also needs a fresh
step-up (T-42). The allowlist has its own module."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.features import FeatureChanges, Features
from parlour.identity.policy import Permission
from parlour.keys.models import ApiKey, Scope
from parlour.web.deps import ServicesDep
from parlour.web.json_lines import JsonLinesResponse, json_lines_download
from parlour.web.policy import JsonOnly, Member, SignedIn, member

router = APIRouter(tags=["organisations"])

Viewer = Annotated[Member, Depends(member(Permission.VIEW_ORGANISATION))]
Auditor = Annotated[Member, Depends(member(Permission.VIEW_AUDIT))]
SettingsKeeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
Librarian = Annotated[Member, Depends(member(Permission.MANAGE_KNOWLEDGE))]
Reviewer = Annotated[Member, Depends(member(Permission.MANAGE_KNOWLEDGE, step_up=True))]
Exporter = Annotated[Member, Depends(member(Permission.VIEW_AUDIT, step_up=True))]
KeyKeeper = Annotated[Member, Depends(member(Permission.MANAGE_KEYS))]
KeyIssuer = Annotated[Member, Depends(member(Permission.MANAGE_KEYS, step_up=True))]


class OrganisationOut(BaseModel):
    tenant_id: str
    name: str
    role: str


class OrganisationDetail(OrganisationOut):
    widget_id: str
    origins: list[str]
    anonymous_visitors: bool


class ApiKeyOut(BaseModel):
    key_id: str
    label: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]
    expires_in_days: Annotated[int | None, Field(ge=1, le=730)] = 365


class IssuedApiKeyOut(ApiKeyOut):
    secret: str = Field(description="Shown this once; Parlour keeps only its digest.")


def _key(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        key_id=key.key_id,
        label=key.label,
        scopes=sorted(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
    )


@router.get("/v1/organisations")
async def my_organisations(session: SignedIn, services: ServicesDep) -> list[OrganisationOut]:
    memberships = await services.authorisation.memberships(session.account.account_id)
    tenants = [await services.tenants.get(m.tenant_id) for m in memberships]
    return [
        OrganisationOut(tenant_id=t.tenant_id, name=t.name, role=m.role.value)
        for t, m in zip(tenants, memberships, strict=True)
    ]


@router.get("/v1/organisations/{tenant_id}")
async def organisation(who: Viewer, services: ServicesDep) -> OrganisationDetail:
    tenant = await services.tenants.get(who.tenant_id)
    return OrganisationDetail(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        role=who.membership.role.value,
        widget_id=tenant.widget_id,
        origins=await services.tenants.origins(tenant.tenant_id),
        anonymous_visitors=tenant.anonymous_visitors,
    )


@router.get("/v1/organisations/{tenant_id}/api-keys")
async def api_keys(who: KeyKeeper, services: ServicesDep) -> list[ApiKeyOut]:
    return [_key(k) for k in await services.api_keys.of_tenant(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/api-keys", status_code=201, dependencies=[JsonOnly])
async def create_api_key(body: NewApiKey, who: KeyIssuer, services: ServicesDep) -> IssuedApiKeyOut:
    days = body.expires_in_days
    expires = services.clock() + timedelta(days=days) if days else None
    issued = await services.api_keys.create(
        who.tenant_id, label=body.label, scopes=body.scopes, expires_at=expires, actor=who.actor
    )
    return IssuedApiKeyOut(**_key(issued.key).model_dump(), secret=issued.secret)


class ApiKeyRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: Annotated[int, Field(ge=0, le=168)] = Field(
        default=24, description="How long the old key keeps working beside the new one."
    )


@router.post(
    "/v1/organisations/{tenant_id}/api-keys/{key_id}/rotate",
    status_code=201,
    dependencies=[JsonOnly],
)
async def rotate_api_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    body: ApiKeyRotation,
    who: KeyIssuer,
    services: ServicesDep,
) -> IssuedApiKeyOut:
    """A new key like the old one (its secret shown this once); the old one stops after the
    overlap, or at once with 0."""
    issued = await services.api_keys.rotate(
        who.tenant_id, key_id, overlap=timedelta(hours=body.overlap_hours), actor=who.actor
    )
    return IssuedApiKeyOut(**_key(issued.key).model_dump(), secret=issued.secret)


@router.delete("/v1/organisations/{tenant_id}/api-keys/{key_id}", status_code=204)
async def revoke_api_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    who: KeyKeeper,
    services: ServicesDep,
) -> Response:
    """Revoking protects, so it needs no step-up; it takes effect on the next request."""
    await services.api_keys.revoke(who.tenant_id, key_id, actor=who.actor)
    return Response(status_code=204)


class AuditEventOut(BaseModel):
    seq: int
    occurred_at: str
    action: str
    actor: dict[str, str]
    source_ip: str | None
    request_id: str | None
    data: dict[str, Any]


@router.get("/v1/organisations/{tenant_id}/audit")
async def audit_log(
    who: Auditor,
    services: ServicesDep,
    action: Annotated[
        str | None, Query(max_length=64, description="An action or its prefix")
    ] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[int | None, Query(ge=1, description="Events before this seq")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEventOut]:
    """The organisation's own audit chain, newest first (T-91: never another's)."""
    events = await services.audit.recent(
        who.tenant_id, limit=limit, before_seq=before, action_prefix=action, actor_id=actor
    )
    return [AuditEventOut.model_validate(e) for e in events]


@router.get("/v1/organisations/{tenant_id}/audit/export", response_class=JsonLinesResponse)
async def export_audit_log(who: Exporter, services: ServicesDep) -> JsonLinesResponse:
    """The whole chain as JSON lines, hashes included, for a SIEM or `parlour audit verify`
    elsewhere. The export itself is an event in the chain, written before the first line."""
    events = await services.audit.export_recorded(
        who.tenant_id, to_chain=who.tenant_id, actor=who.actor
    )
    return json_lines_download(events, "audit.jsonl")


class FeaturesOut(BaseModel):
    anonymous_visitors: bool = Field(description="Visitors may chat without signing in.")
    assistant_enabled: bool = Field(description="The assistant answers; off, people do.")
    function_calling: bool = Field(
        description="The model may propose calls to the organisation's allowlisted tools."
    )
    external_llms: bool = Field(
        description="Prompts may go to an external LLM provider, where the platform allows one."
    )
    personalisation: bool = Field(
        description="The assistant is told the customer's name and e-mail from their token."
    )
    talk_to_a_person: bool = Field(
        description="Customers may ask for a person at any time (where a member handles"
        " conversations): the widget's button and typed requests."
    )


class FeaturesIn(BaseModel):
    # Only these; anything else (a role, a tenant, a plan) is refused, never applied.
    model_config = ConfigDict(extra="forbid")

    anonymous_visitors: bool | None = None
    assistant_enabled: bool | None = None
    function_calling: bool | None = None
    external_llms: bool | None = None
    personalisation: bool | None = None
    talk_to_a_person: bool | None = None


def _features(features: Features) -> FeaturesOut:
    return FeaturesOut.model_validate(features, from_attributes=True)


@router.get("/v1/organisations/{tenant_id}/features")
async def features(who: Viewer, services: ServicesDep) -> FeaturesOut:
    return _features(await services.features.of(who.tenant_id))


@router.patch("/v1/organisations/{tenant_id}/features", dependencies=[JsonOnly])
async def change_features(
    body: FeaturesIn, who: SettingsKeeper, services: ServicesDep
) -> FeaturesOut:
    """Switch features on or off; a field left out keeps its value. Audited."""
    wanted = FeatureChanges(**body.model_dump())
    return _features(await services.features.change(who.tenant_id, wanted, actor=who.actor))


class HeldItemOut(BaseModel):
    item_id: str
    where: str
    reasons: list[str]
    question: str
    answer: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]


class DecidedOut(BaseModel):
    item_id: str
    decision: Literal["approve", "reject"]


@router.get("/v1/organisations/{tenant_id}/review-queue")
async def review_queue(who: Librarian, services: ServicesDep) -> list[HeldItemOut]:
    """What screening held back from uploads, with the text, where it was and why."""
    return [
        HeldItemOut(
            item_id=item.item_id,
            where=item.locator,
            reasons=list(item.reasons),
            question=item.question,
            answer=item.answer,
        )
        for item in await services.knowledge.review.quarantined(who.tenant_id)
    ]


@router.post("/v1/organisations/{tenant_id}/review-queue/{item_id}", dependencies=[JsonOnly])
async def decide_held_item(
    body: DecisionIn,
    item_id: Annotated[str, Path(min_length=1, max_length=64)],
    who: Reviewer,
    services: ServicesDep,
) -> DecidedOut:
    """A person's decision, after a step-up: approved text joins the assistant's knowledge;
    rejected, it is deleted. An API key can list the queue but never decide it."""
    await services.knowledge.review.decide(
        who.tenant_id, item_id, approve=body.decision == "approve", actor=who.actor
    )
    return DecidedOut(item_id=item_id, decision=body.decision)
