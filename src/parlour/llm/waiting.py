"""The line of turns waiting for a model that answers one at a time (the local model: one
llama.cpp context per process), bounded and fair between organisations.

At most `capacity` turns wait behind the one being answered; beyond that a turn is refused at
once (`ProviderBusy`), and answers from its passage instead, recorded as `model_busy`, rather
than wait minutes for a model that writes ~30 tokens a second. Which turn is refused is fair: an
organisation with fewer turns waiting than another takes the place of that one's newest. When
the model is free, the next turn is taken from the organisations in rotation, each
organisation's turns in the order they came: fifty questions from one organisation delay
another's by one answer at most, not by fifty.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from parlour.llm.provider import ProviderBusy


class FairLine:
    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("a line's capacity cannot be negative")
        self.capacity = capacity
        self._busy = False
        # Each organisation's waiting turns, and the rotation: the organisation served next
        # is first; one served goes to the back while it still has turns waiting.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(turns) for turns in self._waiting.values())

    @contextlib.asynccontextmanager
    async def turn(self, tenant_id: str) -> AsyncIterator[None]:
        """Hold the model for one generation; ProviderBusy when the line is full."""
        if self._busy:
            if self.waiting >= self.capacity:
                self._make_room(tenant_id)
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(tenant_id, deque()).append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._next()  # granted as it was cancelled: pass the model on
                else:
                    self._leave(tenant_id, granted)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._next()

    def _make_room(self, tenant_id: str) -> None:
        """A full line takes a turn of an organisation with fewer waiting than another by
        turning away the newest turn of the one with most (which answers from its passage);
        otherwise the new turn is the one turned away. So one organisation's flood never fills
        the line against the others."""
        largest = max(self._waiting, key=lambda t: len(self._waiting[t]), default=None)
        mine = len(self._waiting.get(tenant_id, ()))
        if largest is None or len(self._waiting[largest]) <= mine + 1:
            raise ProviderBusy()
        turned_away = self._waiting[largest].pop()
        turned_away.set_exception(ProviderBusy())

    def _next(self) -> None:
        """The model is free: grant it to the first organisation in the rotation."""
        while self._waiting:
            tenant_id, turns = next(iter(self._waiting.items()))
            granted = turns.popleft()
            del self._waiting[tenant_id]
            if turns:
                self._waiting[tenant_id] = turns  # to the back of the rotation
            if not granted.done():
                granted.set_result(None)
                return
        self._busy = False

    def _leave(self, tenant_id: str, granted: asyncio.Future[None]) -> None:
        turns = self._waiting.get(tenant_id)
        if turns is not None and granted in turns:
            turns.remove(granted)
            if not turns:
                del self._waiting[tenant_id]
