"""Where an organisation's widget may run: web origins, proven before they join, and mobile apps.
Every change needs a fresh step-up (T-42) and is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.tenants.domain_proof import OriginClaim
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["allowlist"])

Viewer = Annotated[Member, Depends(member(Permission.VIEW_ORGANISATION))]
AllowlistKeeper = Annotated[Member, Depends(member(Permission.MANAGE_ALLOWLIST, step_up=True))]
OriginParam = Annotated[str, Query(min_length=1, max_length=300)]


class NewOrigin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: Annotated[str, Field(min_length=1, max_length=300)]


class ProofOut(BaseModel):
    """Publish either one, then ask Parlour to check."""

    dns_name: str = Field(description="Create a TXT record with this name …")
    dns_value: str = Field(description="… holding exactly this value.")
    well_known_url: str = Field(description="Or serve the token as this file's text.")
    token: str


class OriginOut(BaseModel):
    origin: str
    state: Literal["allowed", "pending"]
    proof: ProofOut | None = None
    proven_by: Literal["dns", "well_known", "loopback"] | None = None
    checked_at: datetime | None = None


class OriginsOut(BaseModel):
    allowed: list[str]
    pending: list[OriginOut]


class NewApp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: Annotated[str, Field(min_length=1, max_length=200, examples=["com.example.shop"])]


class AppOut(BaseModel):
    app_id: str


def pending_origin(claim: OriginClaim) -> OriginOut:
    return OriginOut(
        origin=claim.origin,
        state="pending",
        checked_at=claim.checked_at,
        proof=ProofOut(
            dns_name=claim.dns_name,
            dns_value=claim.dns_value,
            well_known_url=claim.well_known_url,
            token=claim.token,
        ),
    )


@router.get("/v1/organisations/{tenant_id}/origins")
async def origins(who: Viewer, services: ServicesDep) -> OriginsOut:
    return OriginsOut(
        allowed=await services.tenants.origins(who.tenant_id),
        pending=[pending_origin(c) for c in await services.tenants.pending_origins(who.tenant_id)],
    )


@router.post(
    "/v1/organisations/{tenant_id}/origins",
    status_code=202,
    dependencies=[JsonOnly],
    responses={201: {"model": OriginOut, "description": "A loopback origin, allowed at once."}},
)
async def request_origin(
    body: NewOrigin, who: AllowlistKeeper, services: ServicesDep, response: Response
) -> OriginOut:
    """Ask for an origin. A loopback one (a developer's own machine) is allowed at once (201);
    any other waits (202) until its owner publishes the proof and asks for a check."""
    claim = await services.tenants.request_origin(who.tenant_id, body.origin, actor=who.actor)
    if claim is None:
        response.status_code = 201
        origin = services.tenants.normalize_origin(body.origin)
        return OriginOut(origin=origin, state="allowed", proven_by="loopback")
    return pending_origin(claim)


@router.post("/v1/organisations/{tenant_id}/origins/check", dependencies=[JsonOnly])
async def check_origin(body: NewOrigin, who: AllowlistKeeper, services: ServicesDep) -> OriginOut:
    """Look for the proof of a pending origin now; found, the origin is allowed. Not found, the
    error's details say what was looked for where."""
    origin = services.tenants.normalize_origin(body.origin)
    method = await services.tenants.check_origin(who.tenant_id, origin, actor=who.actor)
    return OriginOut(origin=origin, state="allowed", proven_by=method.value)


@router.delete("/v1/organisations/{tenant_id}/origins", status_code=204)
async def remove_origin(
    origin: OriginParam, who: AllowlistKeeper, services: ServicesDep
) -> Response:
    """Take an origin off the allowlist, or withdraw one still waiting for proof."""
    await services.tenants.remove_origin(who.tenant_id, origin, actor=who.actor)
    return Response(status_code=204)


@router.get("/v1/organisations/{tenant_id}/apps")
async def apps(who: Viewer, services: ServicesDep) -> list[AppOut]:
    return [AppOut(app_id=a) for a in await services.tenants.apps(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/apps", status_code=201, dependencies=[JsonOnly])
async def allow_app(body: NewApp, who: AllowlistKeeper, services: ServicesDep) -> AppOut:
    """Allow a mobile app, by its bundle or package id, to open chat sockets."""
    return AppOut(
        app_id=await services.tenants.allow_app(who.tenant_id, body.app_id, actor=who.actor)
    )


@router.delete("/v1/organisations/{tenant_id}/apps/{app_id}", status_code=204)
async def remove_app(
    app_id: Annotated[str, Path(min_length=1, max_length=200)],
    who: AllowlistKeeper,
    services: ServicesDep,
) -> Response:
    await services.tenants.remove_app(who.tenant_id, app_id, actor=who.actor)
    return Response(status_code=204)
