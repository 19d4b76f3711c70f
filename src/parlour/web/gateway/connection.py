"""One widget connection, from handshake to close (TB-01): admitted and authenticated by
`handshake.py`, then every later frame is handled as that end user in this socket's one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from parlour.assistant.tools import Subject
from parlour.chat.limits import Cap
from parlour.chat.models import ConversationEvent, Resync
from parlour.chat.protocol import (
    ClientFrame,
    ReauthFrame,
    SendFrame,
    error_frame,
    parse_client_frame,
)
from parlour.chat.session import ChatSession, Frame
from parlour.errors import (
    Forbidden,
    InvalidInput,
    ParlourError,
    RateLimited,
    Unavailable,
)
from parlour.keys.models import EndUser
from parlour.services import Services
from parlour.web.errors import ws_close_code
from parlour.web.gateway.handshake import CloseConnection, Handshake, receive_text

log = logging.getLogger(__name__)

REAUTH_WINDOW_SECONDS = 60.0
MAX_BAD_FRAMES = 10
OUTBOX_CAPACITY = 1024


class Connection:
    def __init__(self, services: Services, websocket: WebSocket) -> None:
        self._services = services
        self._ws = websocket
        self._settings = services.settings.gateway
        self._handshake = Handshake(services, websocket)
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
                tenant = await self._handshake.admit(widget_id, origin)
                await held.enter_async_context(
                    self._services.connection_caps.hold(self._handshake.caps(tenant))
                )
                await self._handshake.live()
            except (Forbidden, RateLimited, Unavailable) as refused:
                self._handshake.refused(refused, widget_id, origin)
                await self._handshake.deny(refused)
                return
            await self._ws.accept()
            try:
                session, resume_after, visitor_token = await self._handshake.authenticate(
                    tenant, origin
                )
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
            text = await receive_text(self._ws)
            if text is None:
                return
            try:
                parsed: ClientFrame | InvalidInput = parse_client_frame(text)
            except InvalidInput as problem:
                parsed = problem
            # An ack that moves the acknowledged point forward costs nothing: there is at most
            # one per durable frame this socket was sent, so acking a long catch-up frame by
            # frame never trips the limit (docs/protocol.md §4). Every other frame counts.
            if not session.advances_ack(parsed) and not await limits.allow("frame", connection_id):
                raise CloseConnection(4429, "too many frames; slow down")
            try:
                if isinstance(parsed, InvalidInput):
                    raise parsed
                frame = parsed
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
                user = session.user
                self._services.assistant.schedule_answer(
                    outcome.new_user_message,
                    Subject(user.tenant_id, user.user_id, dict(user.traits), visitor=user.visitor),
                )

    async def _reauth(self, session: ChatSession, token: str) -> None:
        tenant = await self._services.tenants.get(session.tenant_id)
        renewed = await self._handshake.verify(
            tenant, token, session.user.origin, visitor=session.user.visitor
        )
        if renewed.user_id != session.user.user_id:
            raise CloseConnection(4401, "token is for another user")
        session.user = renewed
        self._warned = False
        self._identity_deadline()

    # Identity (T-22): warned a minute ahead of expiry, ended at it; revocation, and the
    # allowlisting of the socket's origin or app (T-18), are re-checked for all sockets at once
    # by the identity watch.

    @property
    def identity(self) -> EndUser:
        assert self._session is not None
        return self._session.user

    def identity_revoked(self) -> None:
        self._end(4401, "revoked")

    def binding_refused(self) -> None:
        self._end(4403, "this origin or app is no longer allowed")

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

    async def _send(self, frames: list[Frame]) -> None:
        async with self._send_lock:
            for frame in frames:
                await self._ws.send_text(_dumps(frame))
                if self._session is not None:
                    self._session.sent(frame)

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the peer went away first
                await self._ws.close(code=code, reason=close_reason(reason))


def close_reason(text: str) -> str:
    """A close frame's reason: printable ASCII (it may quote what a client sent), cut to the
    123 bytes a close frame holds."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return printable if len(printable) <= 123 else printable[:120] + "..."


# One encoder for every frame: json.dumps with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
