"""Running the app under uvicorn with the gateway's limits."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from parlour.settings import Settings


def uvicorn_config(
    app: ASGIApp, settings: Settings, *, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    gateway = settings.gateway
    return uvicorn.Config(
        app,
        host=host or settings.server.host,
        port=settings.server.port if port is None else port,
        ws="websockets-sansio",
        # Frames over the limit close the socket with 1009 before the app sees them.
        ws_max_size=gateway.max_frame_bytes,
        # Compression would let a small frame inflate past the limits (T-26).
        ws_per_message_deflate=False,
        ws_ping_interval=gateway.ping_interval_seconds,
        ws_ping_timeout=gateway.ping_timeout_seconds,
        server_header=False,
        # Client addresses come from the socket until trusted proxies are configured.
        proxy_headers=False,
        log_level="info",
    )
