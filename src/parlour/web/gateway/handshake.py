"""Opening a widget connection (TB-01): the checks before the upgrade and the first frame.

Order matters: the Origin is checked before the upgrade (a refused browser gets HTTP 403 and no
socket); the first frame must authenticate within the deadline; only then is the socket bound to
one end user and one conversation.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from parlour.chat.limits import Cap
from parlour.chat.protocol import AuthFrame, BadAuthFrame, parse_client_frame
from parlour.chat.session import ChatSession
from parlour.errors import (
    AppNotAllowed,
    Forbidden,
    InvalidInput,
    InvalidToken,
    OriginNotAllowed,
    ParlourError,
    RateLimited,
    TokenExpired,
)
from parlour.keys.models import EndUser
from parlour.observability import security_event
from parlour.services import Services
from parlour.tenants.models import Tenant
from parlour.web.deps import request_context
from parlour.web.errors import error_body, http_status
from parlour.web.proxy import ClientInfo


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def receive_text(websocket: WebSocket) -> str | None:
    """The next frame's text; None when the peer has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise CloseConnection(4400, "frames must be JSON text")
    return str(text)


class Handshake:
    def __init__(self, services: Services, websocket: WebSocket) -> None:
        self._services = services
        self._ws = websocket
        self._settings = services.settings.gateway

    async def admit(self, widget_id: str, origin: str | None) -> Tenant:
        if not await self._services.rate_limits.allow("handshake", self.client_ip):
            raise RateLimited("Too many connection attempts; try again later.")
        if self._services.settings.is_production and not self.client_is_secure():
            raise Forbidden("Connect over wss://.")
        tenant = await self._services.tenants.find_by_widget_id(widget_id)
        # Unknown widget and foreign origin look the same from outside: no existence oracle.
        if tenant is None:
            raise OriginNotAllowed()
        if origin is None:
            # Browsers always send an Origin; only the organisation's mobile apps may omit it,
            # and their tokens must then name an allowlisted app.
            if not await self._services.tenants.has_app(tenant.tenant_id):
                raise OriginNotAllowed()
            return tenant
        await self._services.tenants.require_origin(tenant.tenant_id, origin)
        return tenant

    async def live(self) -> None:
        """Let a socket in only once this node hears the events other nodes publish (it may be
        subscribing again after losing Redis): else it would miss them, silently."""
        await self._services.chat.broker.subscribed()

    def caps(self, tenant: Tenant) -> list[Cap]:
        return [
            Cap(("ip", self.client_ip), self._settings.max_connections_per_ip),
            Cap(("tenant", tenant.tenant_id), self._settings.max_connections_per_tenant),
        ]

    @property
    def client_ip(self) -> str:
        return request_context(self._ws)["ip"] or "unknown"

    def refused(self, refused: ParlourError, widget_id: str, origin: str | None) -> None:
        security_event(
            "chat.handshake_refused",
            reason=refused.code,
            widget_id=widget_id[:64],
            origin=(origin or "")[:300],
            **request_context(self._ws),
        )

    async def deny(self, error: ParlourError) -> None:
        if "websocket.http.response" in self._ws.scope.get("extensions", {}):
            request_id = self._ws.scope.get("state", {}).get("request_id")
            body = error_body(error.code, error.message, request_id)
            await self._ws.send_denial_response(JSONResponse(body, status_code=http_status(error)))
        else:
            await self._ws.close(code=1008)  # servers without the extension answer 403

    def client_is_secure(self) -> bool:
        client: ClientInfo | None = self._ws.scope.get("state", {}).get("client")
        return client is not None and client.secure

    async def authenticate(
        self, tenant: Tenant, origin: str | None
    ) -> tuple[ChatSession, int | None, str | None]:
        """The session the first frame opens, where to resume it, and, for a visitor, the token
        that lets them come back to it."""
        try:
            async with asyncio.timeout(self._settings.auth_timeout_seconds):
                text = await receive_text(self._ws)
        except TimeoutError:
            raise CloseConnection(4408, "authentication timed out") from None
        if text is None:
            raise CloseConnection(1000, "closed before authenticating")
        try:
            frame = parse_client_frame(text)
        except InvalidInput as bad:
            raise BadAuthFrame(f"the first frame must be a valid auth: {bad.message}") from None
        if not isinstance(frame, AuthFrame):
            raise BadAuthFrame(f"the first frame must be auth, not {frame.type}")
        visitor_token = None
        if frame.token is not None:
            user = await self.verify(tenant, frame.token, origin)
        else:
            user, visitor_token = await self.visitor(tenant, frame, origin)
        conversation = await self._services.chat.open_conversation(tenant.tenant_id, user.user_id)
        session = ChatSession(
            self._services.chat, user, conversation, page_size=self._settings.history_page_size
        )
        return session, frame.last_seq, visitor_token

    async def visitor(
        self, tenant: Tenant, frame: AuthFrame, origin: str | None
    ) -> tuple[EndUser, str]:
        """An anonymous visitor, if the organisation allows them: a fresh identity, or the one a
        visitor token names. Either way a new visitor token is issued (the old one is used up)."""
        if not tenant.anonymous_visitors:
            self.refused_auth(tenant, "anonymous_visitors_off")
            raise CloseConnection(4403, "anonymous chat is not available here")
        visitor_id = None
        if frame.visitor_token is not None:
            visitor_id = (
                await self.verify(tenant, frame.visitor_token, origin, visitor=True)
            ).user_id
        app_id = None if origin else await self.app_of_connection()
        minted = await self._services.end_user_tokens.mint_visitor(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=visitor_id,
        )
        user = await self.verify(tenant, minted.token, origin, visitor=True)
        next_token = await self._services.end_user_tokens.mint_visitor(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=user.user_id,
        )
        return user, next_token.token

    async def app_of_connection(self) -> str:
        # A visitor of a mobile app names its app in a header; only allowlisted apps pass.
        app_id = self._ws.headers.get("x-parlour-app", "")
        if not app_id:
            raise CloseConnection(4403, "a connection without Origin must name its app")
        return app_id

    async def verify(
        self, tenant: Tenant, token: str, origin: str | None, *, visitor: bool = False
    ) -> EndUser:
        try:
            user = await self._services.end_user_tokens.verify(
                tenant.tenant_id, tenant.widget_id, token, visitor=visitor
            )
        except InvalidToken:
            self.refused_auth(tenant, "invalid_token")
            raise CloseConnection(4401, "invalid token") from None
        if user.expires_at <= datetime.now(UTC):
            # Inside the leeway that forgives clocks a little apart: it would open a session
            # already past its end. Refused, so the client fetches a fresh token.
            self.refused_auth(tenant, "token_expired")
            raise TokenExpired()
        if origin is not None and user.origin != origin:
            self.refused_auth(tenant, "origin_mismatch")
            raise CloseConnection(4403, "token is for another origin")
        if origin is None:
            try:
                await self._services.tenants.require_app(tenant.tenant_id, user.app_id or "")
            except AppNotAllowed:
                self.refused_auth(tenant, "app_not_allowed")
                raise CloseConnection(4403, "token is not for an allowed app") from None
        return user

    def refused_auth(self, tenant: Tenant, reason: str) -> None:
        security_event(
            "chat.auth_refused",
            reason=reason,
            tenant_id=tenant.tenant_id,
            **request_context(self._ws),
        )
