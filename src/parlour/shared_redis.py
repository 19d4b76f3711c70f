"""Redis as the state nodes share (the scaled-out profile): its clients and its failures.

Clients draw from a pool sized on purpose that makes callers wait, for a bounded time, when every
connection is busy. redis-py's default pool raises at once instead, so a burst of messages or of
closing sockets failed calls by the hundred. A call that meets a connection error (a pooled
connection gone stale when Redis restarted) is retried once, on a fresh connection.

A call that still fails raises `Unavailable`: a socket is then closed with a code and a reason,
and a handshake refused in the one error shape, rather than dropped.

The request path's pool times each call, from taking a connection to giving it back (waiting
for one included): Redis latency as the node feels it (`parlour_redis_seconds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from time import perf_counter
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from parlour import metrics
from parlour.errors import Unavailable
from parlour.settings import RedisSettings

# What a failed call raises: redis-py's own errors, and the socket's (timeouts included) when
# one escapes it.
FAILURES: tuple[type[Exception], ...] = (RedisError, OSError)

# The broker's pool: the notices it sends. (Its subscriptions have a connection of their own,
# made with the pool's settings: chat/redis_broker.py.)
BROKER_CONNECTIONS = 4


class TimedPool(BlockingConnectionPool):
    """A blocking pool that times each call: from taking a connection to giving it back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._taken_at: dict[int, float] = {}

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        started = perf_counter()
        taking = super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        connection: AbstractConnection = await taking
        self._taken_at[id(connection)] = started
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        started = self._taken_at.pop(id(connection), None)
        await super().release(connection)
        if started is not None:
            metrics.REDIS_SECONDS.observe(perf_counter() - started)


def shared_pool(settings: RedisSettings) -> BlockingConnectionPool:
    """The pool for calls on the request path: rate limits, connection leases, token replay.
    Each call is bounded: waiting for a connection, connecting, and reading its reply."""
    assert settings.url is not None
    return TimedPool.from_url(
        settings.url,
        max_connections=settings.max_connections,
        timeout=settings.pool_timeout_seconds,
        socket_timeout=settings.timeout_seconds,
        socket_connect_timeout=settings.timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        **_keepalive(settings.url),
    )


def _keepalive(url: str) -> dict[str, bool]:
    """TCP keepalive for a TCP connection; a Unix socket (`unix://`, as the container compose
    file uses) has none, and redis-py refuses the option there."""
    return {} if url.startswith("unix://") else {"socket_keepalive": True}


def broker_client(settings: RedisSettings) -> Redis:
    """The broker's own client. Its subscriptions' connection, made with this pool's settings,
    waits for notices indefinitely (its reads are not timed); a lost connection shows at once,
    as a reset."""
    assert settings.url is not None
    pool = BlockingConnectionPool.from_url(
        settings.url,
        max_connections=BROKER_CONNECTIONS,
        timeout=settings.pool_timeout_seconds,
        socket_connect_timeout=settings.timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        **_keepalive(settings.url),
    )
    return Redis.from_pool(pool)


@contextlib.contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Raise `Unavailable`, saying what could not be done, when Redis fails."""
    try:
        yield
    except FAILURES as error:
        raise Unavailable(f"{what} is unavailable for a moment; try again shortly.") from error
