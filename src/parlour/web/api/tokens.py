"""Minting end-user tokens: a client backend, holding an API key, vouches for its customer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from parlour.keys.models import ApiKey, Scope
from parlour.web.deps import ServicesDep, api_key

router = APIRouter(tags=["end-user tokens"])


class EndUserTokenRequest(BaseModel):
    # Unknown fields (a `tenant_id`, say) are refused: the tenant is the API key's, always.
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=200)]
    origin: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    app_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(min_length=3, max_length=200)] | None = None


class EndUserTokenResponse(BaseModel):
    token: str
    expires_at: datetime
    widget_id: str


@router.post("/v1/end-user-tokens", status_code=201, response_model=EndUserTokenResponse)
async def mint_end_user_token(
    body: EndUserTokenRequest,
    services: ServicesDep,
    key: Annotated[ApiKey, Depends(api_key(Scope.MINT_END_USER_TOKENS))],
) -> EndUserTokenResponse:
    tenant = await services.tenants.get(key.tenant_id)
    traits = {k: v for k, v in (("name", body.name), ("email", body.email)) if v}
    minted = await services.end_user_tokens.mint(
        tenant.tenant_id,
        widget_id=tenant.widget_id,
        user_id=body.user_id,
        origin=body.origin,
        app_id=body.app_id,
        traits=traits,
    )
    return EndUserTokenResponse(
        token=minted.token, expires_at=minted.expires_at, widget_id=tenant.widget_id
    )
