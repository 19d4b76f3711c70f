"""Public keys an organisation registers so its backend can sign end-user tokens itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.audit.events import Actor, ActorType
from parlour.keys.models import ApiKey, Scope
from parlour.keys.tokens import client_issuer, widget_audience
from parlour.web.deps import ServicesDep, api_key, request_context

router = APIRouter(tags=["client keys"])
KeyDep = Annotated[ApiKey, Depends(api_key(Scope.WRITE_CLIENT_KEYS))]


class ClientKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key_pem: Annotated[str, Field(min_length=1, max_length=4096)]


class ClientKeyResponse(BaseModel):
    kid: str
    algorithm: str
    issuer: str = Field(description="The `iss` your tokens must carry.")
    audience: str = Field(description="The `aud` your tokens must carry.")
    created_at: datetime


def actor_for(key: ApiKey, request: Request) -> Actor:
    context = request_context(request)
    return Actor(ActorType.API_KEY, key.key_id, context["ip"], context["request_id"])


@router.post("/v1/client-keys", status_code=201, response_model=ClientKeyResponse)
async def register_client_key(
    body: ClientKeyRequest, request: Request, services: ServicesDep, key: KeyDep
) -> ClientKeyResponse:
    tenant = await services.tenants.get(key.tenant_id)
    registered = await services.client_keys.register(
        key.tenant_id, body.public_key_pem, actor=actor_for(key, request)
    )
    return ClientKeyResponse(
        kid=registered.kid,
        algorithm=registered.algorithm,
        issuer=client_issuer(tenant.widget_id),
        audience=widget_audience(tenant.widget_id),
        created_at=registered.created_at,
    )


@router.delete("/v1/client-keys/{kid}", status_code=204)
async def revoke_client_key(
    kid: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    services: ServicesDep,
    key: KeyDep,
) -> Response:
    await services.client_keys.revoke(key.tenant_id, kid, actor=actor_for(key, request))
    return Response(status_code=204)
