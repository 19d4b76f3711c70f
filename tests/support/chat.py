"""A minimal protocol client for tests: connect, authenticate, read frames with bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parlour.chat.broker import Broker
from parlour.chat.models import ConversationEvent

# How long a test waits for a frame before it fails: a bound on a failure, not a timing. The
# suite runs a test on every core at once (scripts/check), so a frame can wait out another
# worker's busy seconds (a container build, 2,000 sockets opening) on a small machine.
FRAME_TIMEOUT_SECONDS = 20.0
Frame = dict[str, Any]


def open_socket(ws_base: str, widget_id: str, origin: str | None) -> Any:
    return connect(
        f"{ws_base}/v1/chat/{widget_id}",
        origin=origin,  # type: ignore[arg-type]
        open_timeout=FRAME_TIMEOUT_SECONDS,
        compression=None,
    )


async def receive(ws: ClientConnection, timeout: float = FRAME_TIMEOUT_SECONDS) -> Frame:
    async with asyncio.timeout(timeout):
        frame: Frame = json.loads(await ws.recv())
        return frame


async def receive_until(
    ws: ClientConnection, match: Callable[[Frame], bool], timeout: float = FRAME_TIMEOUT_SECONDS
) -> list[Frame]:
    """Every frame up to and including the first that matches."""
    frames: list[Frame] = []
    async with asyncio.timeout(timeout):
        while True:
            frames.append(json.loads(await ws.recv()))
            if match(frames[-1]):
                return frames


async def authenticate(
    ws: ClientConnection,
    token: str,
    last_seq: int | None = None,
    timeout: float = FRAME_TIMEOUT_SECONDS,
) -> Frame:
    auth: Frame = {"type": "auth", "token": token}
    if last_seq is not None:
        auth["last_seq"] = last_seq
    await ws.send(json.dumps(auth))
    ready = await receive(ws, timeout)
    assert ready["type"] == "ready", ready
    return ready


async def say(ws: ClientConnection, text: str, client_id: str | None = None) -> str:
    client_id = client_id or str(uuid.uuid4())
    await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
    return client_id


async def close_code(ws: ClientConnection, timeout: float = FRAME_TIMEOUT_SECONDS) -> int | None:
    """Read until the server closes; the close code it sent."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def is_assistant_message(frame: Frame) -> bool:
    return frame.get("type") == "message" and frame.get("author") == "assistant"


@contextlib.asynccontextmanager
async def listening(
    broker: Broker, tenant_id: str, conversation_id: str
) -> AsyncIterator[asyncio.Queue[ConversationEvent]]:
    """The conversation's events as the broker hands them to its listeners, in a queue."""
    seen: asyncio.Queue[ConversationEvent] = asyncio.Queue()
    stop = await broker.listen(tenant_id, conversation_id, seen.put_nowait)
    try:
        yield seen
    finally:
        stop()
