from __future__ import annotations

from fastapi import APIRouter, WebSocket

from parlour.web.deps import services_of
from parlour.web.gateway.connection import Connection

router = APIRouter()


@router.websocket("/v1/chat/{widget_id}")
async def chat_socket(websocket: WebSocket, widget_id: str) -> None:
    await Connection(services_of(websocket), websocket).run(widget_id)
