"""Re-checking the identities behind open sockets (T-22), for the whole node at once.

A token is checked when a socket opens; afterwards its signing key may be retired or revoked, or
its end user revoked. Every `every` seconds this re-checks every open socket's identity in one
batch (a lookup per distinct key, a query per organisation) and ends the sockets whose identity
no longer stands. One task for the node, not one per socket: at ten thousand sockets, per-socket
checks were a read per socket every interval and a task's memory each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from parlour.keys.models import EndUser
from parlour.keys.service import KeyService

log = logging.getLogger(__name__)


class Watched(Protocol):
    @property
    def identity(self) -> EndUser: ...

    def identity_revoked(self) -> None: ...


class IdentityWatch:
    def __init__(self, keys: KeyService, *, every_seconds: float) -> None:
        self._keys = keys
        self._every = every_seconds
        self._watched: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, socket: Watched) -> None:
        self._watched.add(socket)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def discard(self, socket: Watched) -> None:
        self._watched.discard(socket)

    async def check_now(self) -> None:
        sockets = list(self._watched)
        if not sockets:
            return
        still_valid = await self._keys.still_valid_many([s.identity for s in sockets])
        for socket, valid in zip(sockets, still_valid, strict=True):
            if not valid and socket in self._watched:
                socket.identity_revoked()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.check_now()
            except Exception:
                # Keep watching: a failed round (the database away) is retried next interval.
                log.exception("re-checking socket identities failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._watched.clear()
