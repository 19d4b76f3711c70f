"""One widget connection, from handshake to close (TB-01).

Order matters: the Origin is checked before the upgrade (a refused browser gets HTTP 403 and no
socket); the first frame must authenticate within the deadline; only then is the socket bound to
one end user and one conversation, and every later frame is handled as that user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketState

from parlour.chat.limits import Cap
from parlour.chat.models import ConversationEvent, Resync
from parlour.chat.protocol import (
    AuthFrame,
    ReauthFrame,
    SendFrame,
    error_frame,
    parse_client_frame,
)
from parlour.chat.session import ChatSession, Frame
from parlour.errors import (
    AppNotAllowed,
    Forbidden,
    InvalidInput,
    InvalidToken,
    OriginNotAllowed,
    ParlourError,
    RateLimited,
)
from parlour.keys.models import EndUser
from parlour.observability import security_event
from parlour.services import Services
from parlour.tenants.models import Tenant
from parlour.web.deps import request_context
from parlour.web.errors import error_body, http_status, ws_close_code
from parlour.web.proxy import ClientInfo

log = logging.getLogger(__name__)

REAUTH_WINDOW_SECONDS = 60.0
MAX_BAD_FRAMES = 10
OUTBOX_CAPACITY = 1024


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    def __init__(self, services: Services, websocket: WebSocket) -> None:
        self._services = services
        self._ws = websocket
        self._settings = services.settings.gateway
        self._send_lock = asyncio.Lock()
        self._session: ChatSession | None = None
        self._task: asyncio.Task[Any] | None = None
        self._live = False
        self._outbox: list[ConversationEvent | Frame] = []
        self._drainer: asyncio.Task[None] | None = None
        self._delivering = False
        self._timer: asyncio.TimerHandle | None = None
        self._warned = False
        self._ending: CloseConnection | None = None

    async def run(self, widget_id: str) -> None:
        origin = self._ws.headers.get("origin")
        async with contextlib.AsyncExitStack() as held:
            try:
                tenant = await self._admit(widget_id, origin)
                await held.enter_async_context(
                    self._services.connection_caps.hold(self._caps(tenant))
                )
            except (Forbidden, RateLimited) as refused:
                self._refused_handshake(refused, widget_id, origin)
                await self._deny(refused)
                return
            await self._ws.accept()
            try:
                session, resume_after, visitor_token = await self._authenticate(tenant, origin)
                user_cap = Cap(
                    ("user", tenant.tenant_id, session.user.user_id),
                    self._settings.max_connections_per_user,
                )
                await held.enter_async_context(self._services.connection_caps.hold([user_cap]))
                await self._serve(session, resume_after, visitor_token)
            except CloseConnection as close:
                await self._close(close.code, close.reason)
            except ParlourError as error:
                await self._close(ws_close_code(error), error.message)

    async def _admit(self, widget_id: str, origin: str | None) -> Tenant:
        if not await self._services.rate_limits.allow("handshake", self._client_ip):
            raise RateLimited("Too many connection attempts; try again later.")
        if self._services.settings.is_production and not self._client_is_secure():
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

    def _caps(self, tenant: Tenant) -> list[Cap]:
        return [
            Cap(("ip", self._client_ip), self._settings.max_connections_per_ip),
            Cap(("tenant", tenant.tenant_id), self._settings.max_connections_per_tenant),
        ]

    @property
    def _client_ip(self) -> str:
        return request_context(self._ws)["ip"] or "unknown"

    def _refused_handshake(self, refused: ParlourError, widget_id: str, origin: str | None) -> None:
        security_event(
            "chat.handshake_refused",
            reason=refused.code,
            widget_id=widget_id[:64],
            origin=(origin or "")[:300],
            **request_context(self._ws),
        )

    async def _deny(self, error: ParlourError) -> None:
        if "websocket.http.response" in self._ws.scope.get("extensions", {}):
            request_id = self._ws.scope.get("state", {}).get("request_id")
            body = error_body(error.code, error.message, request_id)
            await self._ws.send_denial_response(JSONResponse(body, status_code=http_status(error)))
        else:
            await self._ws.close(code=1008)  # servers without the extension answer 403

    def _client_is_secure(self) -> bool:
        client: ClientInfo | None = self._ws.scope.get("state", {}).get("client")
        return client is not None and client.secure

    async def _authenticate(
        self, tenant: Tenant, origin: str | None
    ) -> tuple[ChatSession, int | None, str | None]:
        """The session the first frame opens, where to resume it, and, for a visitor, the token
        that lets them come back to it."""
        try:
            async with asyncio.timeout(self._settings.auth_timeout_seconds):
                text = await self._receive_text()
        except TimeoutError:
            raise CloseConnection(4408, "authentication timed out") from None
        if text is None:
            raise CloseConnection(1000, "closed before authenticating")
        try:
            frame = parse_client_frame(text)
        except InvalidInput:
            raise CloseConnection(4401, "the first frame must be auth") from None
        if not isinstance(frame, AuthFrame):
            raise CloseConnection(4401, "the first frame must be auth")
        visitor_token = None
        if frame.token is not None:
            user = await self._verify(tenant, frame.token, origin)
        else:
            user, visitor_token = await self._visitor(tenant, frame, origin)
        conversation = await self._services.chat.open_conversation(tenant.tenant_id, user.user_id)
        session = ChatSession(
            self._services.chat, user, conversation, page_size=self._settings.history_page_size
        )
        return session, frame.last_seq, visitor_token

    async def _visitor(
        self, tenant: Tenant, frame: AuthFrame, origin: str | None
    ) -> tuple[EndUser, str]:
        """An anonymous visitor, if the organisation allows them: a fresh identity, or the one a
        visitor token names. Either way a new visitor token is issued (the old one is used up)."""
        if not tenant.anonymous_visitors:
            self._refused_auth(tenant, "anonymous_visitors_off")
            raise CloseConnection(4403, "anonymous chat is not available here")
        visitor_id = None
        if frame.visitor_token is not None:
            visitor_id = (
                await self._verify(tenant, frame.visitor_token, origin, visitor=True)
            ).user_id
        app_id = None if origin else await self._app_of_connection()
        minted = await self._services.keys.mint_visitor_token(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=visitor_id,
        )
        user = await self._verify(tenant, minted.token, origin, visitor=True)
        next_token = await self._services.keys.mint_visitor_token(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=user.user_id,
        )
        return user, next_token.token

    async def _app_of_connection(self) -> str:
        # A visitor of a mobile app names its app in a header; only allowlisted apps pass.
        app_id = self._ws.headers.get("x-parlour-app", "")
        if not app_id:
            raise CloseConnection(4403, "a connection without Origin must name its app")
        return app_id

    async def _verify(
        self, tenant: Tenant, token: str, origin: str | None, *, visitor: bool = False
    ) -> EndUser:
        try:
            user = await self._services.keys.verify_end_user_token(
                tenant.tenant_id, tenant.widget_id, token, visitor=visitor
            )
        except InvalidToken:
            self._refused_auth(tenant, "invalid_token")
            raise CloseConnection(4401, "invalid token") from None
        if origin is not None and user.origin != origin:
            self._refused_auth(tenant, "origin_mismatch")
            raise CloseConnection(4403, "token is for another origin")
        if origin is None:
            try:
                await self._services.tenants.require_app(tenant.tenant_id, user.app_id or "")
            except AppNotAllowed:
                self._refused_auth(tenant, "app_not_allowed")
                raise CloseConnection(4403, "token is not for an allowed app") from None
        return user

    def _refused_auth(self, tenant: Tenant, reason: str) -> None:
        security_event(
            "chat.auth_refused",
            reason=reason,
            tenant_id=tenant.tenant_id,
            **request_context(self._ws),
        )

    async def _serve(
        self, session: ChatSession, resume_after: int | None, visitor_token: str | None
    ) -> None:
        """Everything after authentication runs in this socket's one task: frames are read
        here; conversation events arrive by callback and are sent by a short-lived drain task;
        identity deadlines are loop timers. An idle socket holds no task of its own."""
        self._session = session
        self._task = asyncio.current_task()
        # Listening before reading history, so nothing published meanwhile is missed.
        stop_listening = self._services.chat.broker.listen(
            session.tenant_id, session.conversation_id, self._enqueue
        )
        watch = self._services.identity_watch
        try:
            await self._send(await session.start(resume_after, visitor_token))
            self._live = True
            self._drain_soon()
            self._identity_deadline()
            watch.add(self)
            await self._read(session)
        except asyncio.CancelledError:
            if self._ending is None or self._task is None:
                raise
            self._task.uncancel()
            raise self._ending from None
        finally:
            stop_listening()
            watch.discard(self)
            if self._timer is not None:
                self._timer.cancel()
            if self._drainer is not None:
                self._drainer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._drainer

    async def _read(self, session: ChatSession) -> None:
        bad_frames = 0
        connection_id = self._ws.scope.get("state", {}).get("request_id", "")
        limits = self._services.rate_limits
        while True:
            # Events this task's own work queued (its message's echo, a receipt) go out here,
            # without a drain task of their own.
            await self._deliver_queued()
            text = await self._receive_text()
            if text is None:
                return
            if not await limits.allow("frame", connection_id):
                raise CloseConnection(4429, "too many frames; slow down")
            try:
                frame = parse_client_frame(text)
                if isinstance(frame, SendFrame) and not await limits.allow(
                    "message", session.tenant_id, session.user.user_id
                ):
                    raise RateLimited("Too many messages; wait a moment.")
                if isinstance(frame, ReauthFrame):
                    await self._reauth(session, frame.token)
                    continue
                outcome = await session.handle(frame)
            except RateLimited as limited:
                await self._send([error_frame(limited.code, limited.message)])
                continue
            except InvalidInput as problem:
                bad_frames += 1
                if bad_frames > MAX_BAD_FRAMES:
                    raise CloseConnection(4400, "too many bad frames") from None
                await self._send([error_frame(problem.code, problem.message)])
                continue
            await self._send(outcome.frames)
            if outcome.new_user_message is not None:
                self._services.assistant.schedule_answer(
                    outcome.new_user_message, session.user.user_id
                )

    async def _reauth(self, session: ChatSession, token: str) -> None:
        tenant = await self._services.tenants.get(session.tenant_id)
        renewed = await self._verify(
            tenant, token, session.user.origin, visitor=session.user.visitor
        )
        if renewed.user_id != session.user.user_id:
            raise CloseConnection(4401, "token is for another user")
        session.user = renewed
        self._warned = False
        self._identity_deadline()

    # Identity (T-22): warned a minute ahead of expiry, ended at it; revocation is re-checked
    # for all sockets at once by the identity watch.

    @property
    def identity(self) -> EndUser:
        assert self._session is not None
        return self._session.user

    def identity_revoked(self) -> None:
        self._end(4401, "revoked")

    def _identity_deadline(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        remaining = (self.identity.expires_at - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            self._end(4401, "token expired")
            return
        if not self._warned and remaining <= REAUTH_WINDOW_SECONDS:
            self._warned = True
            self._enqueue({"type": "reauth_required", "expires_in": int(remaining)})
        delay = remaining if self._warned else remaining - REAUTH_WINDOW_SECONDS
        self._timer = asyncio.get_running_loop().call_later(delay, self._identity_deadline)

    # Outgoing events: queued by callback, sent in order by a drain task that exists only
    # while there is something to send.

    def _enqueue(self, item: ConversationEvent | Frame) -> None:
        if isinstance(item, Resync):
            self._end(1013, "events may have been lost; reconnect and resume")
            return
        if len(self._outbox) >= OUTBOX_CAPACITY:
            # A socket this far behind resumes from the database instead of holding memory.
            self._end(1013, "fell behind; reconnect and resume")
            return
        self._outbox.append(item)
        self._drain_soon()

    def _drain_soon(self) -> None:
        if not self._live or not self._outbox or self._drainer is not None or self._delivering:
            return
        if self._ending is None and asyncio.current_task() is not self._task:
            self._drainer = asyncio.create_task(self._drain())

    async def _deliver_queued(self) -> None:
        if self._drainer is None:
            await self._send_outbox()

    async def _send_outbox(self) -> None:
        """Send what is queued, in order, including what arrives meanwhile. One sender at a
        time (`_delivering`): the session's delivery rule assumes events one by one."""
        assert self._session is not None
        self._delivering = True
        try:
            while self._outbox:
                items, self._outbox = self._outbox, []
                for item in items:
                    if isinstance(item, dict):
                        await self._send([item])
                    else:
                        await self._send(await self._session.on_event(item))
        finally:
            self._delivering = False

    async def _drain(self) -> None:
        try:
            await self._send_outbox()
        except CloseConnection as close:
            self._end(close.code, close.reason)
        except Exception:
            log.exception("delivering conversation events failed")
            self._end(1011, "server error; reconnect and resume")
        finally:
            self._drainer = None

    def _end(self, code: int, reason: str) -> None:
        """End this socket from outside its task: the task is cancelled and closes it."""
        if self._ending is None and self._task is not None and not self._task.done():
            self._ending = CloseConnection(code, reason)
            self._task.cancel()

    async def _receive_text(self) -> str | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            raise CloseConnection(4400, "frames must be JSON text")
        return str(text)

    async def _send(self, frames: list[Frame]) -> None:
        async with self._send_lock:
            for frame in frames:
                await self._ws.send_text(_dumps(frame))

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the peer went away first
                await self._ws.close(code=code, reason=reason)


# One encoder for every frame: json.dumps with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
