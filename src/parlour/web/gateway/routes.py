"""The chat socket's route, served beside the REST stack rather than through it.

A socket lives for hours. The REST stack's routing, dependency injection and exception
middleware held several KiB per socket and added a hop to every frame, for nothing a socket
uses; so sockets on the chat path go straight to the gateway, inside the request-context
middleware (request id, client address, security headers on a refused upgrade).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from parlour.web.deps import services_of
from parlour.web.gateway.connection import Connection

CHAT_PATH = re.compile(r"/v1/chat/(?P<widget_id>[^/]+)")


class ChatSockets:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and (match := CHAT_PATH.fullmatch(scope["path"])):
            websocket = WebSocket(scope, receive, send)
            await Connection(services_of(websocket), websocket).run(match["widget_id"])
            return
        await self.app(scope, receive, send)
