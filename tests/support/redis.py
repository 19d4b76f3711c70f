"""Redis for tests: the local server (PARLOUR_TEST_REDIS_URL), a fresh key prefix per test, and
every key under it removed afterwards. With CI=true an unreachable server fails the run. Tests
that stop Redis start a server of their own (`own_redis`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_SECONDS = 10.0


def redis_url() -> str:
    return os.environ.get("PARLOUR_TEST_REDIS_URL", DEFAULT_REDIS_URL)


async def reachable_prefix() -> AsyncIterator[str]:
    client = Redis.from_url(redis_url())
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        message = f"Redis unavailable at {redis_url()}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    prefix = f"parlour-test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


class OwnRedis:
    """A redis-server of a test's own, on a free port of loopback, that the test may stop and
    start again on the same port: empty, as a restart without persistence leaves it, or, with
    `persistent`, with every write it had acknowledged (an append-only file synced on each).
    Never the machine's server: other tests use that one."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        self._directory = directory
        self._persistence = (
            ("--appendonly", "yes", "--appendfsync", "always")
            if persistent
            else (
                "--appendonly",
                "no",
            )
        )
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and return once it accepts connections (it says so on stdout)."""
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not installed")
        self._process = subprocess.Popen(
            [
                executable,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._directory)),
                *("--save", "", *self._persistence, "--logfile", ""),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=_pump, args=(self._process, lines), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if b"Ready to accept connections" in line:
                return
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and calls time out, as when Redis
        hangs or the network between drops packets."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=START_TIMEOUT_SECONDS)
        self._process = None


@contextlib.contextmanager
def own_redis(directory: Path, *, persistent: bool = False) -> Iterator[OwnRedis]:
    server = OwnRedis(directory, persistent=persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pump(process: subprocess.Popen[bytes], lines: queue.Queue[bytes | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class KeyChanges:
    """Waits on keyspace notifications: the test learns of each change to the keys it watches
    as it happens, rather than by polling."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def until(self, check: Callable[[], Awaitable[bool]], *, timeout: float) -> None:
        """Return as soon as `check()` holds, checking again after each change; fail with
        TimeoutError if it does not hold within `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not await check():
                await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)


@contextlib.asynccontextmanager
async def key_changes(server: OwnRedis, pattern: str) -> AsyncIterator[KeyChanges]:
    """Changes to the keys matching `pattern` on a server of the test's own (it turns keyspace
    notifications on, which the machine's server must not be asked to do)."""
    client = Redis.from_url(server.url)
    await client.config_set("notify-keyspace-events", "Kgz")
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"__keyspace@0__:{pattern}")
    try:
        yield KeyChanges(pubsub)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
