"""A real HTTP endpoint for webhook tests: records every request exactly as received and
answers with the status queued for it (200 once the queue is empty); `/down` always answers
503, and `/moved` redirects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from tests.support.servers import start_threaded


class _Unlogged(H11Protocol):
    """Someone else's server writes no access lines into this process's log: the paths it was
    sent (a webhook's secret, say) are what Parlour must not log, not what its receivers do."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in turn
    arrived: threading.Event = field(default_factory=threading.Event)  # set at each request
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            self.received.append(Received(scope["path"], headers, body))
            status = self.statuses.pop(0) if self.statuses else 200
            self.arrived.set()
        extra = []
        if scope["path"] == "/down":
            status = 503
        if scope["path"] == "/moved":
            status, extra = 302, [(b"location", f"{self.url}/hook".encode())]
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = start_threaded(lambda url: (receiver, None), http=_Unlogged)
    receiver.url = server.url
    try:
        yield receiver
    finally:
        server.stop()
