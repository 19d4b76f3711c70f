"""Clocks a test sets and moves: the services built on one read it wherever they would read the
wall clock, so time passes when the test says, never by waiting.

`SetClock` is a time source alone. `ManualClock` also keeps timers, as the chat sockets need:
time stands still until a test moves it, and then the timers due fire, each on the event loop
that set it (which may be a server's, in another thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from parlour.storage.types import utcnow


@dataclass
class SetClock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def next_step(self) -> None:
        """Move to the start of the next 30-second TOTP step."""
        seconds = self.now.timestamp()
        self.now += timedelta(seconds=30 - seconds % 30 + 0.001)


@dataclass
class PinnableClock:
    """The real time, until a test pins it to an instant (to seed events on days of its
    choosing, or to read "today" the server reads), and again after it unpins it (for what
    needs the real time: a TOTP code a person types from their phone)."""

    pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or utcnow()


@dataclass
class SetMonotonic:
    """A stand-in for `time.monotonic`, for caches that count seconds."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


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
    """A clock with timers (`parlour.chat.clock.Timers`) that moves only when told to: the
    services read it, and the sockets' timers due fire as it moves."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._timers: list[_Timer] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def __call__(self) -> datetime:
        return self.now()

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
