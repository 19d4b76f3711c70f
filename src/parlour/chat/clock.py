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
from typing import Protocol

from parlour.storage.types import utcnow


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        """Run `callback` on the running event loop once the clock reaches `when`."""
        ...


class SystemClock:
    """The wall clock, with the running loop's timers."""

    def now(self) -> datetime:
        return utcnow()

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback)


@contextlib.asynccontextmanager
async def timeout_at(clock: Clock, when: datetime) -> AsyncIterator[None]:
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


async def sleep_until(clock: Clock, when: datetime) -> None:
    """`asyncio.sleep` on `clock`, until `when`."""
    woken = asyncio.get_running_loop().create_future()
    timer = clock.call_at(when, lambda: None if woken.done() else woken.set_result(None))
    try:
        await woken
    finally:
        timer.cancel()
