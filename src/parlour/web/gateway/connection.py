"""One chat connection, from handshake to close: the socket work only. Who may connect, as
whom, and what each frame may do are the `Admission`'s and its `Admitted` socket's rules
(`parlour.chat.admission`); every error they raise is mapped to a close through the one table in
`parlour.web.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from fastapi import WebSocket
from opentelemetry.trace import SpanKind, Tracer
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from parlour import metrics
from parlour.chat.admission import Admission, Admitted, AuthenticationTimedOut, Frame, Knock
from parlour.chat.clock import Timer, Timers, timeout_at
from parlour.chat.models import Resync
from parlour.errors import (
    Forbidden,
    NotFound,
    ParlourError,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from parlour.tracing import span, tracer_of
from parlour.web.errors import ws_close
from parlour.web.gateway.handshake import deny, receive_text

log = logging.getLogger(__name__)

OUTBOX_CAPACITY = 1024


class _PeerGone(Exception):
    """The client's connection went away (a phone losing its network) while a frame was being
    sent: nothing to close or report; the client resumes from the database when it is back."""


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        admission: Admission[Any, Admitted[Any]],
        clock: Timers,
        *,
        auth_timeout_seconds: float,
        tracer: Tracer | None = None,
    ) -> None:
        self._ws = websocket
        self._tracer = tracer or tracer_of(None)
        self._admission = admission
        self._clock = clock
        self._auth_timeout = timedelta(seconds=auth_timeout_seconds)
        self._send_lock = asyncio.Lock()
        self._admitted: Admitted[Any] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._live = False
        self._outbox: list[Any] = []  # the admitted socket's events, and frames
        self._drainer: asyncio.Task[None] | None = None
        self._delivering = False
        self._timer: Timer | None = None
        self._ending: ParlourError | None = None

    async def run(self, knock: Knock) -> None:
        async with contextlib.AsyncExitStack() as held:
            try:
                entry = await held.enter_async_context(self._admission.admit(knock))
            except (Unauthenticated, Forbidden, NotFound, RateLimited, Unavailable) as refused:
                await deny(self._ws, refused)
                return
            # The first frame's deadline counts from the upgrade.
            deadline = self._clock.now() + self._auth_timeout
            await self._ws.accept()
            metrics.OPEN_SOCKETS.inc()
            try:
                first_frame = await self._first_frame(deadline)
                if first_frame is None:
                    return  # the peer left before authenticating
                async with self._admission.authenticate(entry, first_frame) as admitted:
                    await self._serve(admitted)
            except ParlourError as error:
                await self._close(error)
            except _PeerGone:
                pass
            finally:
                metrics.OPEN_SOCKETS.dec()

    async def _first_frame(self, deadline: datetime) -> str | None:
        try:
            async with timeout_at(self._clock, deadline):
                return await receive_text(self._ws)
        except TimeoutError:
            raise AuthenticationTimedOut() from None

    async def _serve(self, admitted: Admitted[Any]) -> None:
        """Everything after authentication runs in this socket's one task: frames are read
        here; events arrive by callback and are sent by a short-lived drain task; identity
        deadlines are timers. An idle socket holds no task of its own."""
        self._admitted = admitted
        self._task = asyncio.current_task()
        stop_listening: Callable[[], None] | None = None
        stop_watching = admitted.watch(self._end)
        try:
            # Listening before reading history, so nothing published meanwhile is missed: it
            # returns once this node hears the channel (on the scaled-out profile, once Redis
            # confirmed the subscription). Inside the `try`: a resync may end the socket while
            # it waits.
            stop_listening = await admitted.listen(self._enqueue)
            await self._send(await admitted.start())
            self._live = True
            self._drain_soon()
            self._identity_deadline()
            await self._read(admitted)
        except asyncio.CancelledError:
            if self._ending is None or self._task is None:
                raise
            self._task.uncancel()
            raise self._ending from None
        finally:
            if stop_listening is not None:
                stop_listening()
            stop_watching()
            if self._timer is not None:
                self._timer.cancel()
            if self._drainer is not None:
                self._drainer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._drainer

    async def _read(self, admitted: Admitted[Any]) -> None:
        while True:
            # Events this task's own work queued (its message's echo, a receipt) go out here,
            # without a drain task of their own.
            await self._deliver_queued()
            text = await receive_text(self._ws)
            if text is None:
                return
            # Each frame is a trace of its own (a socket lives for hours): a customer's message
            # from here to its stored answer, which the assistant's task continues.
            read_at = perf_counter()
            with span(self._tracer, "chat.frame", kind=SpanKind.SERVER):
                reply = await admitted.handle(text)
            if reply.renewed:
                self._identity_deadline()
            await self._send(reply.frames)
            if reply.frames and reply.frames[0]["type"] == "accepted":
                metrics.ACK_SECONDS.observe(perf_counter() - read_at)

    def _identity_deadline(self) -> None:
        assert self._admitted is not None
        if self._timer is not None:
            self._timer.cancel()
        try:
            check = self._admitted.identity_check()
        except ParlourError as ended:
            self._end(ended)
            return
        if check.warning is not None:
            self._enqueue(check.warning)
        self._timer = self._clock.call_at(check.next_at, self._identity_deadline)

    # Outgoing events: queued by callback, sent in order by a drain task that exists only
    # while there is something to send.

    def _enqueue(self, item: Any) -> None:
        if isinstance(item, Resync):
            self._end(Unavailable("events may have been lost; reconnect and resume"))
            return
        if len(self._outbox) >= OUTBOX_CAPACITY:
            # A socket this far behind resumes from the database instead of holding memory.
            self._end(Unavailable("fell behind; reconnect and resume"))
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
        time (`_delivering`): the delivery rule assumes events one by one."""
        assert self._admitted is not None
        self._delivering = True
        try:
            while self._outbox:
                items, self._outbox = self._outbox, []
                for item in items:
                    if isinstance(item, dict):
                        await self._send([item])
                    else:
                        await self._send(await self._admitted.on_event(item))
        finally:
            self._delivering = False

    async def _drain(self) -> None:
        try:
            await self._send_outbox()
        except _PeerGone:
            pass  # the socket's task reads the disconnect and ends
        except ParlourError as error:
            self._end(error)
        except Exception:
            log.exception("delivering conversation events failed")
            self._end(ParlourError("server error; reconnect and resume"))
        finally:
            self._drainer = None

    def _end(self, error: ParlourError) -> None:
        """End this socket from outside its task: the task is cancelled and closes it."""
        if self._ending is None and self._task is not None and not self._task.done():
            self._ending = error
            self._task.cancel()

    async def _send(self, frames: list[Frame]) -> None:
        async with self._send_lock:
            for frame in frames:
                try:
                    await self._ws.send_text(_dumps(frame))
                except (WebSocketDisconnect, WebSocketDisconnected) as gone:
                    raise _PeerGone() from gone
                if self._admitted is not None:
                    self._admitted.sent(frame)

    async def _close(self, error: ParlourError) -> None:
        metrics.refused("websocket", error.code)
        close = ws_close(error)
        if self._ws.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the peer went away first
                await self._ws.close(code=close.code, reason=close.reason)


# One encoder for every frame: json.dumps with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
