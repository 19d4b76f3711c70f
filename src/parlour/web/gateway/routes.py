"""The sockets' routes, served beside the REST stack rather than through it.

A socket lives for hours. The REST stack's routing, dependency injection and exception
middleware held several KiB per socket and added a hop to every frame, for nothing a socket
uses; so sockets on the chat path go straight to the gateway, inside the request-context
middleware (request id, client address, security headers on a refused upgrade).

The members' live desk socket, `/dashboard/o/{tenant_id}/live` (docs/desk.md), is served the same
way, by the desk's admission (chat/desk_admission.py).

Everything after `/v1/chat/` is the widget id, slashes included (a `%2F` arrives decoded): an id
no widget has is refused as an unknown widget is, in the JSON error shape. A socket to any other
path gets the JSON 404 rather than the framework's bare 403.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from parlour.chat.admission import Admission, Admitted, Knock
from parlour.errors import NotFound
from parlour.web.deps import services_of
from parlour.web.gateway.connection import Connection
from parlour.web.gateway.handshake import deny, desk_knock_of, knock_of, origin_of

CHAT_PATH = re.compile(r"/v1/chat/(?P<widget_id>.+)", re.DOTALL)
DESK_PATH = re.compile(r"/dashboard/o/(?P<tenant_id>[^/]{1,64})/live")


class ChatSockets:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        services = services_of(websocket)
        if match := CHAT_PATH.fullmatch(scope["path"]):
            admission: Admission[Any, Admitted[Any]] = services.widget_admission
            own = origin_of(services.settings.server.public_url)
            knock: Knock = knock_of(websocket, match["widget_id"], own_origin=own)
        elif match := DESK_PATH.fullmatch(scope["path"]):
            admission, knock = services.desk_admission, desk_knock_of(websocket, match["tenant_id"])
        else:
            await deny(websocket, NotFound())
            return
        connection = Connection(
            websocket,
            admission,
            services.timers,
            auth_timeout_seconds=services.settings.gateway.auth_timeout_seconds,
            tracer=services.tracer,
        )
        await connection.run(knock)
