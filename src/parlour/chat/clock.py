"""The chat sockets' clock: the time now, and callbacks at a moment, from one source.

A socket's timers (the first frame's deadline, its identity's warning and end, the rounds that
re-check every socket's identity) are set on the same clock its rules read (`Visit`'s identity
check, a token inside its leeway), so a test moves that clock and every timer due fires at
once, instead of the test waiting on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from parlour.storage.types import Clock, utcnow


class Timer(Protocol):
    def cancel(self) -> None: ...


@runtime_checkable
class Timers(Protocol):
    """A time source (`parlour.storage.types.Clock`) that also runs callbacks at a moment."""

    def __call__(self) -> datetime: ...

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        """Run `callback` on the running event loop once the clock reaches `when`."""
        ...


class SystemClock:
    """A time source (the wall clock unless given another), with the running loop's timers."""

    def __init__(self, time: Clock = utcnow) -> None:
        self._time = time

    def __call__(self) -> datetime:
        return self._time()

    def now(self) -> datetime:
        return self._time()

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback)


def timers_of(clock: Clock) -> Timers:
    """The sockets' timers on `clock`: the clock itself when it keeps timers of its own (a test's
    clock that fires them as it moves), else the loop's, counted on it."""
    return clock if isinstance(clock, Timers) else SystemClock(clock)


@contextlib.asynccontextmanager
async def timeout_at(clock: Timers, when: datetime) -> AsyncIterator[None]:
    """`asyncio.timeout` on `clock`: TimeoutError if the block is still running at `when`."""
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_at(when, expire)
    try:
        yield
    except asyncio.CancelledError:
        if not expired:
            raise
        task.uncancel()
        raise TimeoutError from None
    finally:
        timer.cancel()


async def sleep_until(clock: Timers, when: datetime) -> None:
    """`asyncio.sleep` on `clock`, until `when`."""
    woken = asyncio.get_running_loop().create_future()
    timer = clock.call_at(when, lambda: None if woken.done() else woken.set_result(None))
    try:
        await woken
    finally:
        timer.cancel()
