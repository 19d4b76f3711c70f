"""Tasks that serve the whole process, started in a context of their own.

A task inherits the context variables of the code that creates it: the log context (the
request's and tenant's ids, `parlour.logs`) and the current trace span (`parlour.tracing`).
The node's shared tasks (the message writer's flusher, the identity watch, the SQLite
checkpoint, the Redis notice sender, subscriber and lease releaser) are started lazily by
whichever request or socket first needs them, and then serve every other one; started plainly,
each of their log records would name that first request and tenant, and their spans join its
trace, for as long as they run. `detached` starts them in a fresh, empty context instead. A
task that belongs to one request or message (an assistant's turn, a socket's outbox) keeps its
creator's context.

`Periodic` is the one shape of the node's rounds (flushing report counts, checking security
alerts, delivering webhooks and customer mails, indexing messages for search, running knowledge
imports): a detached task doing one round every so often until closed, a failed round logged and
the next one trying again; `wake` starts the next round at once (an import just submitted).
`Backoff` is how long an outbox (webhook deliveries, customer mails) waits before trying a failed
item again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from parlour.errors import Unavailable

T = TypeVar("T")

log = logging.getLogger(__name__)


def detached(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """`coro` as a task that carries none of its creator's context variables."""
    return asyncio.create_task(coro, name=name, context=contextvars.Context())


class Periodic:
    """`round` every `seconds` in a detached task, from `start` until `aclose`; the first round
    at once (`first_at_start`) or after the first wait. A round that raises is logged with
    `failed` and the next one tries again."""

    def __init__(
        self,
        round: Callable[[], Awaitable[object]],
        seconds: float,
        *,
        failed: str,
        first_at_start: bool = False,
    ) -> None:
        self._round = round
        self._seconds = seconds
        self._failed = failed
        self._first_at_start = first_at_start
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Begin the next round now rather than at the end of the wait (after the round under
        way, if one is)."""
        self._woken.set()

    def start(self) -> None:
        if self._task is None:
            self._task = detached(self._run())

    async def aclose(self) -> None:
        """Stop; a round under way is cancelled."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if not self._first_at_start:
            await self._rest()
        while True:
            try:
                await self._round()
            except Unavailable as unavailable:
                # A dependency that is down (the database restarting): said once a round, without
                # a traceback that would say nothing more.
                log.warning("%s: %s", self._failed, unavailable.message)
            except Exception:
                log.exception(self._failed)
            await self._rest()

    async def _rest(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._seconds):
                await self._woken.wait()
        self._woken.clear()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits that double from `first` after each failure, up to `longest`."""

    first: timedelta
    longest: timedelta

    def after(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure."""
        return min(self.first * (1 << (attempts - 1)), self.longest)
