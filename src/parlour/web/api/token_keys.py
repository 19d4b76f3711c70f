"""The keys end-user tokens are signed with, for an organisation's members: Parlour's own signing
keys (public parts, and rotation with overlap) and the public keys the organisation registered to
sign tokens itself. Rotating or registering needs a fresh step-up (T-42); revoking does not, as
it only ever takes access away."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict

from parlour.identity.policy import Permission
from parlour.keys.models import ClientKey, SigningKey
from parlour.keys.tokens import client_issuer, widget_audience
from parlour.web.api.client_keys import ClientKeyRequest, ClientKeyResponse
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["token keys"])

KeyKeeper = Annotated[Member, Depends(member(Permission.MANAGE_KEYS))]
KeyIssuer = Annotated[Member, Depends(member(Permission.MANAGE_KEYS, step_up=True))]


class SigningKeyOut(BaseModel):
    kid: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None
    state: Literal["current", "retiring", "retired"]


class SigningKeyRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retire_previous: Literal["after_overlap", "now"] = "after_overlap"


class RegisteredKeyOut(ClientKeyResponse):
    revoked_at: datetime | None
    public_key_pem: str


def _signing_key(key: SigningKey, now: datetime) -> SigningKeyOut:
    return SigningKeyOut(
        kid=key.kid,
        algorithm=key.algorithm,
        created_at=key.created_at,
        retired_at=key.retired_at,
        state=key.state_at(now),
    )


def _registered(key: ClientKey, widget_id: str) -> RegisteredKeyOut:
    return RegisteredKeyOut(
        kid=key.kid,
        algorithm=key.algorithm,
        issuer=client_issuer(widget_id),
        audience=widget_audience(widget_id),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        public_key_pem=key.public_key_pem,
    )


@router.get("/v1/organisations/{tenant_id}/signing-keys")
async def signing_keys(who: KeyKeeper, services: ServicesDep) -> list[SigningKeyOut]:
    """Public facts only: the private halves never leave the vault."""
    keys = await services.signing_keys.of_tenant(who.tenant_id)
    return [_signing_key(k, services.clock()) for k in keys]


@router.post("/v1/organisations/{tenant_id}/signing-keys/rotate", dependencies=[JsonOnly])
async def rotate_signing_key(
    body: SigningKeyRotation, who: KeyIssuer, services: ServicesDep
) -> SigningKeyOut:
    """A new signing key. Tokens signed with the previous ones keep working for the configured
    overlap, or stop at once (and close their sockets at the next check) with `now`."""
    overlap = (
        0 if body.retire_previous == "now" else services.settings.tokens.signing_key_overlap_seconds
    )
    key = await services.signing_keys.rotate(
        who.tenant_id, overlap=timedelta(seconds=overlap), actor=who.actor
    )
    return _signing_key(key, services.clock())


@router.get("/v1/organisations/{tenant_id}/client-keys")
async def client_keys(who: KeyKeeper, services: ServicesDep) -> list[RegisteredKeyOut]:
    tenant = await services.tenants.get(who.tenant_id)
    keys = await services.client_keys.of_tenant(who.tenant_id)
    return [_registered(k, tenant.widget_id) for k in keys]


@router.post("/v1/organisations/{tenant_id}/client-keys", status_code=201, dependencies=[JsonOnly])
async def register_client_key(
    body: ClientKeyRequest, who: KeyIssuer, services: ServicesDep
) -> RegisteredKeyOut:
    tenant = await services.tenants.get(who.tenant_id)
    key = await services.client_keys.register(who.tenant_id, body.public_key_pem, actor=who.actor)
    return _registered(key, tenant.widget_id)


@router.delete("/v1/organisations/{tenant_id}/client-keys/{kid}", status_code=204)
async def revoke_client_key(
    kid: Annotated[str, Path(min_length=1, max_length=64)],
    who: KeyKeeper,
    services: ServicesDep,
) -> Response:
    await services.client_keys.revoke(who.tenant_id, kid, actor=who.actor)
    return Response(status_code=204)
