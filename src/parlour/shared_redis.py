"""Redis as the state nodes share (the scaled-out profile): its clients and its failures.

Clients draw from a pool sized on purpose that makes callers wait, for a bounded time, when every
connection is busy. redis-py's default pool raises at once instead, so a burst of messages or of
closing sockets failed calls by the hundred. A call that meets a connection error (a pooled
connection gone stale when Redis restarted) is retried once, on a fresh connection.

A call that still fails raises `Unavailable`: a socket is then closed with a code and a reason,
and a handshake refused in the one error shape, rather than dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from parlour.errors import Unavailable
from parlour.settings import RedisSettings

# What a failed call raises: redis-py's own errors, and the socket's (timeouts included) when
# one escapes it.
FAILURES: tuple[type[Exception], ...] = (RedisError, OSError)

# The broker's pool: one connection held by its subscription, one for the notices it sends.
BROKER_CONNECTIONS = 4


def shared_pool(settings: RedisSettings) -> BlockingConnectionPool:
    """The pool for calls on the request path: rate limits, connection leases, token replay.
    Each call is bounded: waiting for a connection, connecting, and reading its reply."""
    assert settings.url is not None
    return BlockingConnectionPool.from_url(
        settings.url,
        max_connections=settings.max_connections,
        timeout=settings.pool_timeout_seconds,
        socket_timeout=settings.timeout_seconds,
        socket_connect_timeout=settings.timeout_seconds,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 1),
    )


def broker_client(settings: RedisSettings) -> Redis:
    """The broker's own client. Its subscription waits for notices indefinitely, so its
    connections have no read timeout; a lost connection shows at once, as a reset."""
    assert settings.url is not None
    pool = BlockingConnectionPool.from_url(
        settings.url,
        max_connections=BROKER_CONNECTIONS,
        timeout=settings.pool_timeout_seconds,
        socket_connect_timeout=settings.timeout_seconds,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 1),
    )
    return Redis.from_pool(pool)


@contextlib.contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Raise `Unavailable`, saying what could not be done, when Redis fails."""
    try:
        yield
    except FAILURES as error:
        raise Unavailable(f"{what} is unavailable for a moment; try again shortly.") from error
