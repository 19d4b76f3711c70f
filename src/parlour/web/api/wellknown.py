"""Public, unauthenticated documents: the JWKS and a health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from parlour.web.deps import ServicesDep
from parlour.web.policy import Public

router = APIRouter(tags=["public"])


@router.get("/.well-known/jwks.json", dependencies=[Public])
async def jwks(services: ServicesDep) -> JSONResponse:
    return JSONResponse(
        await services.keys.jwks(),
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/healthz", dependencies=[Public])
async def health(services: ServicesDep) -> dict[str, Any]:
    async with services.db.read() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}
