"""Tasks that serve the whole process, started in a context of their own.

A task inherits the context variables of the code that creates it: the log context (the
request's and tenant's ids, `parlour.logs`) and the current trace span (`parlour.tracing`).
The node's shared tasks (the message writer's flusher, the identity watch, the SQLite
checkpoint, the Redis notice sender and lease releaser) are started lazily by whichever request
or socket first needs them, and then serve every other one; started plainly, each of their log
records would name that first request and tenant, and their spans join its trace, for as long
as they run. `detached` starts them in a fresh, empty context instead. A task that belongs to
one request or message (an assistant's turn, a socket's outbox) keeps its creator's context.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def detached(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """`coro` as a task that carries none of its creator's context variables."""
    return asyncio.create_task(coro, name=name, context=contextvars.Context())
