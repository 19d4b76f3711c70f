"""The chat sockets' clock: the time now, and callbacks at a moment, from one source.

A socket's timers (the first frame's deadline, its identity's warning and end, the rounds that
re-check every socket's identity) are set on the same clock its rules read (`Visit`'s identity
check, a token inside its leeway), so a test moves that clock and every timer due fires at
once, instead of the test waiting on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar, runtime_checkable

from parlour.storage.types import Clock, utcnow
from parlour.tasks import detached

log = logging.getLogger(__name__)


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


W = TypeVar("W")  # a socket, watched in a set


class Rounds(ABC, Generic[W]):
    """What the node's re-checks of its open sockets share (the customers' identities, the
    members' sessions): the sockets watched, and one task for the node that calls
    `check_now` every interval on the sockets' clock. The first round is due an interval after
    the first socket is watched, so moving the clock that far brings it; a failed round (the
    database away) is retried the next interval."""

    name = "rounds"  # the task's name, and what a failed round's log line says

    def __init__(self, *, every_seconds: float, clock: Timers | None = None) -> None:
        self._every = timedelta(seconds=every_seconds)
        self._clock = clock or SystemClock()
        self._watched: set[W] = set()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def check_now(self) -> None: ...

    def add(self, socket: W) -> None:
        self._watched.add(socket)
        if self._task is None:
            self._task = detached(self._run(self._clock.now() + self._every), name=self.name)

    def discard(self, socket: W) -> None:
        self._watched.discard(socket)

    async def _run(self, next_round: datetime) -> None:
        while True:
            await sleep_until(self._clock, next_round)
            next_round = self._clock.now() + self._every
            try:
                await self.check_now()
            except Exception:
                log.exception("a round of %s failed", self.name)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._watched.clear()
