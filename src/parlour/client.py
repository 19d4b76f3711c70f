"""A small chat client that speaks docs/protocol.md: for tests, benchmarks, and as a reference for
anyone writing a mobile or server-side client.

It keeps the protocol's promises on the client side: it remembers the last sequence number it
delivered and resumes from it, drops duplicates, acknowledges what it delivered (an `accepted`
right after it delivers the client's own message), and sends again (with the same client id)
every message the server has not accepted, after every reconnect. Acks are cumulative: the
frames the server sends to catch up after `ready` are acknowledged once, at the last of them;
live frames one by one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
TokenSource = Callable[[], Awaitable[str]]


class ClientClosed(Exception):
    """The socket closed; `code` says why (docs/protocol.md, close codes)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class ChatClient:
    base_url: str  # ws:// or wss:// of Parlour
    widget_id: str
    get_token: TokenSource
    origin: str | None = None
    timeout: float = 10.0
    last_seq: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # client id -> text, not yet accepted
    accepted: dict[str, int] = field(default_factory=dict)  # client id -> its seq
    _ws: ClientConnection | None = None
    _catching_up_to: int = 0  # the last seq of the catch-up that follows `ready`

    async def connect(self) -> Frame:
        """Open a socket, authenticate, resume after `last_seq`, and send again every message
        still pending. Returns the `ready` frame."""
        await self.close()
        self._ws = await connect(
            f"{self.base_url}/v1/chat/{self.widget_id}",
            origin=self.origin,  # type: ignore[arg-type]
            open_timeout=self.timeout,
            compression=None,
            max_queue=None,
        )
        auth: Frame = {"type": "auth", "token": await self.get_token()}
        if self.last_seq:
            auth["last_seq"] = self.last_seq
        await self._send(auth)
        ready = await self._receive()
        if ready.get("type") != "ready":
            raise ClientClosed(None, f"expected ready, got {ready.get('type')}")
        self._catching_up_to = ready["last_seq"]
        for client_id, text in list(self.pending.items()):
            await self._send({"type": "message", "client_id": client_id, "text": text})
        return ready

    async def send(self, text: str, client_id: str | None = None) -> str:
        """Send a message; it stays pending until `accepted` arrives."""
        client_id = client_id or str(uuid.uuid4())
        self.pending[client_id] = text
        await self._send({"type": "message", "client_id": client_id, "text": text})
        return client_id

    async def next_frame(self) -> Frame:
        """The next frame for the application: durable frames in order and once only (each is
        acknowledged), and the rest (typing, errors, …) as they come."""
        while True:
            frame = await self._receive()
            kind = frame.get("type")
            if kind == "accepted":
                self.pending.pop(frame["client_id"], None)
                self.accepted[frame["client_id"]] = frame["seq"]
                if frame["seq"] == self.last_seq + 1:
                    # It delivers our own message: no `message` frame follows for it.
                    await self._deliver(frame["seq"])
                return frame
            if kind in ("message", "handoff"):
                if frame["seq"] <= self.last_seq:
                    continue  # already delivered (before a reconnect, or by its `accepted`)
                await self._deliver(frame["seq"])
            return frame

    async def until(self, match: Callable[[Frame], bool]) -> list[Frame]:
        """Frames up to and including the first that matches."""
        frames = []
        while True:
            frames.append(await self.next_frame())
            if match(frames[-1]):
                return frames

    async def _deliver(self, seq: int) -> None:
        self.last_seq = seq
        if seq >= self._catching_up_to:
            await self._send({"type": "ack", "seq": seq})

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _send(self, frame: Frame) -> None:
        if self._ws is None:
            raise ClientClosed(None, "not connected")
        try:
            await self._ws.send(json.dumps(frame))
        except ConnectionClosed as closed:
            raise _closed(closed) from None

    async def _receive(self) -> Frame:
        if self._ws is None:
            raise ClientClosed(None, "not connected")
        try:
            async with asyncio.timeout(self.timeout):
                frame: Frame = json.loads(await self._ws.recv())
        except ConnectionClosed as closed:
            raise _closed(closed) from None
        return frame


def _closed(closed: ConnectionClosed) -> ClientClosed:
    if closed.rcvd is not None:
        return ClientClosed(closed.rcvd.code, closed.rcvd.reason)
    return ClientClosed(None, "connection lost")
