"""An organisation's backend signing its customer out of chat everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from parlour.keys.models import ApiKey, Scope
from parlour.observability import security_event
from parlour.web.deps import ServicesDep, api_key, request_context

router = APIRouter(tags=["end users"])

UserId = Annotated[str, Path(min_length=1, max_length=200)]


@router.post("/v1/end-users/{user_id}/revoke", status_code=204)
async def revoke_end_user(
    user_id: UserId,
    request: Request,
    services: ServicesDep,
    key: Annotated[ApiKey, Depends(api_key(Scope.REVOKE_END_USERS))],
) -> Response:
    """Every token issued to this customer until now stops working, and their open chat
    sockets close within the re-validation interval (30 s by default). Call it on logout."""
    await services.end_user_revocations.revoke(key.tenant_id, user_id)
    security_event(
        "end_user.revoked", tenant_id=key.tenant_id, key_id=key.key_id, **request_context(request)
    )
    return Response(status_code=204)
