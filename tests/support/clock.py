"""A clock tests set: time stands still until a test moves it, and then the timers due fire.

Timers run on the event loop that set them, which may be a server's, in another thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from parlour.storage.types import utcnow


class _Timer:
    def __init__(
        self, when: datetime, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
    ) -> None:
        self.when = when
        self.loop = loop
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.callback()


class ManualClock:
    """A `parlour.chat.clock.Clock` that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._timers: list[_Timer] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, asyncio.get_running_loop(), callback)
        with self._lock:
            self._timers.append(timer)
            due = self._due()
        self._fire(due)
        return timer

    def advance(self, by: timedelta) -> None:
        """Move time forward; every timer due by then fires, on its own loop, in time order."""
        with self._lock:
            self._now += by
            due = self._due()
        self._fire(due)

    def pending(self) -> int:
        """How many timers wait, not yet due nor cancelled."""
        with self._lock:
            return sum(1 for timer in self._timers if not timer.cancelled)

    def _due(self) -> list[_Timer]:
        due = sorted((t for t in self._timers if t.when <= self._now), key=lambda t: t.when)
        self._timers = [t for t in self._timers if t.when > self._now and not t.cancelled]
        return due

    @staticmethod
    def _fire(due: list[_Timer]) -> None:
        for timer in due:
            timer.loop.call_soon_threadsafe(timer.fire)
