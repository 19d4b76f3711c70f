"""Re-checking the identities behind open sockets (T-22), for the whole node at once.

A token is checked when a socket opens; afterwards its signing key may be retired or revoked,
its end user revoked, or the origin or app it is bound to taken off the organisation's
allowlist. Every `every` seconds this re-checks every open socket in one batch (a lookup per
distinct key and per distinct origin or app, a query per organisation) and ends the sockets
whose identity no longer stands (4401) or whose origin or app is no longer allowed (4403). One
task for the node, not one per socket: at ten thousand sockets, per-socket checks were a read
per socket every interval and a task's memory each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Protocol

from parlour.chat.clock import SystemClock, Timers, sleep_until
from parlour.keys.end_user_tokens import EndUserTokens
from parlour.keys.models import EndUser
from parlour.tasks import detached
from parlour.tenants.service import TenantService

log = logging.getLogger(__name__)

CHECK_SLICE = 1000
_Binding = tuple[str, str | None, str | None]  # tenant, origin, app


class Watched(Protocol):
    @property
    def identity(self) -> EndUser: ...

    def identity_revoked(self) -> None: ...

    def binding_refused(self) -> None: ...


class IdentityWatch:
    def __init__(
        self,
        tokens: EndUserTokens,
        tenants: TenantService,
        *,
        every_seconds: float,
        clock: Timers | None = None,
    ) -> None:
        self._tokens = tokens
        self._tenants = tenants
        self._every = timedelta(seconds=every_seconds)
        self._clock = clock or SystemClock()
        self._watched: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, socket: Watched) -> None:
        self._watched.add(socket)
        if self._task is None:
            # The first round is due an interval from now, on the clock: from the moment a
            # socket is watched, moving the clock that far brings the round.
            first_round = self._clock.now() + self._every
            self._task = detached(self._run(first_round), name="identity watch")

    def discard(self, socket: Watched) -> None:
        self._watched.discard(socket)

    async def check_now(self) -> None:
        sockets = list(self._watched)
        # In slices, yielding between them: one pass over ten thousand sockets held the loop for
        # 11-18 ms at a time, and every socket's acknowledgements waited behind it (sliced: under
        # 3 ms). Each origin or app is looked up once a round, whatever the slices.
        allowed: dict[_Binding, bool] = {}
        for start in range(0, len(sockets), CHECK_SLICE):
            await self._check(sockets[start : start + CHECK_SLICE], allowed)
            await asyncio.sleep(0)

    async def _check(self, sockets: list[Watched], allowed: dict[_Binding, bool]) -> None:
        identities = [s.identity for s in sockets]
        still_valid = await self._tokens.still_valid_many(identities)
        for user in identities:
            binding = (user.tenant_id, user.origin, user.app_id)
            if binding not in allowed:
                allowed[binding] = await self._tenants.binding_allowed(*binding)
        for socket, user, valid in zip(sockets, identities, still_valid, strict=True):
            if socket not in self._watched:
                continue
            if not valid:
                socket.identity_revoked()
            elif not allowed[user.tenant_id, user.origin, user.app_id]:
                socket.binding_refused()

    async def _run(self, next_round: datetime) -> None:
        while True:
            await sleep_until(self._clock, next_round)
            next_round = self._clock.now() + self._every
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
