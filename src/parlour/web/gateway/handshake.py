"""The socket side of opening a chat connection: what the socket showed, the refusal before the
upgrade, and reading frames as text. Who may connect is decided in `parlour.chat.admission`.

Order matters: a socket is admitted before the upgrade (a refused browser gets an HTTP answer
and no socket); the first frame must authenticate within the deadline; only then is the socket
bound to one principal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from parlour import metrics
from parlour.chat.admission import Knock
from parlour.chat.desk_admission import DeskKnock
from parlour.chat.protocol import BadFrame
from parlour.errors import ParlourError
from parlour.web.deps import request_context
from parlour.web.errors import REFUSED_WITHOUT_ANSWER, error_body, http_status
from parlour.web.policy import COOKIE
from parlour.web.proxy import ClientInfo


def knock_of(websocket: WebSocket, door: str, *, own_origin: str | None = None) -> Knock:
    """What the socket showed before its upgrade. Cookies are not read (T-19): a customer's
    socket is never authenticated by one.

    `own_origin` (Parlour's own, on the customers' socket) is taken as no Origin: React Native's
    WebSocket sends the server's own origin where a native client sends none (Android's
    WebSocketModule and iOS's SocketRocket fill it in from the URL), and a browser sends it only
    from a page Parlour serves. Such a socket is then an app's: only an allowlisted app's token
    gets in, as without an Origin (docs/mobile.md)."""
    context = request_context(websocket)
    client: ClientInfo | None = websocket.scope.get("state", {}).get("client")
    origin = websocket.headers.get("origin")
    return Knock(
        door=door,
        origin=None if origin is not None and origin == own_origin else origin,
        client_ip=context["ip"] or "unknown",
        request_id=context["request_id"],
        secure=client is not None and client.secure,
        app_id=websocket.headers.get("x-parlour-app") or None,
    )


def origin_of(url: str) -> str:
    """The origin of a URL, as a client that derives one from it writes it (scheme, host, and
    the port only when the URL names one)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def desk_knock_of(websocket: WebSocket, tenant_id: str) -> DeskKnock:
    """What a members' desk socket showed: as `knock_of`, and the dashboard session cookie,
    which only this socket reads (its Origin is checked first, T-97)."""
    knock = knock_of(websocket, tenant_id)
    return DeskKnock(
        door=knock.door,
        origin=knock.origin,
        client_ip=knock.client_ip,
        request_id=knock.request_id,
        secure=knock.secure,
        session_token=websocket.cookies.get(COOKIE) or None,
    )


async def deny(websocket: WebSocket, error: ParlourError) -> None:
    """Refuse the upgrade with an HTTP answer in the one error shape."""
    metrics.refused("websocket", error.code)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        request_id = websocket.scope.get("state", {}).get("request_id")
        body = error_body(error.code, error.message, request_id)
        await websocket.send_denial_response(JSONResponse(body, status_code=http_status(error)))
    else:
        await websocket.close(code=REFUSED_WITHOUT_ANSWER)


async def receive_text(websocket: WebSocket) -> str | None:
    """The next frame's text; None when the peer has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise BadFrame("frames must be JSON text")
    return str(text)
