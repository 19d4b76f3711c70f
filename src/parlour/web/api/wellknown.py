"""Public, unauthenticated documents: the JWKS (all organisations' keys, and each one's under
its call-token issuer) and a health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from parlour.web.deps import ServicesDep
from parlour.web.policy import Public

router = APIRouter(tags=["public"])


@router.get("/.well-known/jwks.json", dependencies=[Public])
async def jwks(services: ServicesDep) -> JSONResponse:
    return _public_keys(await services.signing_keys.jwks())


@router.get("/tenants/{tenant_id}/.well-known/jwks.json", dependencies=[Public])
async def organisation_jwks(
    tenant_id: Annotated[str, Path(min_length=1, max_length=64)], services: ServicesDep
) -> JSONResponse:
    """One organisation's keys, under its call tokens' issuer: an MCP server that fetches its
    keys here cannot be made to accept a token another organisation's key signed. (An unknown
    organisation has no keys: the answer says nothing of which exist.)"""
    return _public_keys(await services.signing_keys.jwks(tenant_id))


def _public_keys(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        document,
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/healthz", dependencies=[Public])
async def health(services: ServicesDep) -> dict[str, Any]:
    await services.db.ping()
    return {"status": "ok"}
