"""A `parlour serve` node as a child process on a free port, and services on the same database
and keys to seed it with (tests about the process itself: restarts, workers)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from parlour.services import Services, build_services
from tests.conftest import make_settings, new_master_key
from tests.support.redis import reachable_prefix, redis_url
from tests.support.servers import ServeProcess, free_socket


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, *, workers: int = 1) -> Iterator[ServeProcess]:
    node = ServeProcess(env, port, workers=workers)
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


@contextlib.asynccontextmanager
async def a_node_and_its_services(
    tmp_path: Path, database_url: str, redis: bool
) -> AsyncIterator[tuple[dict[str, str], int, Services]]:
    """The environment of a node (on the embedded profile, or with Redis) on a free port, and
    services on the same database and keys to seed it with."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    master_key = new_master_key()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PARLOUR_ENVIRONMENT": "test",
        "PARLOUR_DATA_DIR": str(tmp_path),
        "PARLOUR_DATABASE__URL": database_url,
        "PARLOUR_SERVER__PUBLIC_URL": url,
        "PARLOUR_CRYPTO__MASTER_KEY": master_key,
    }
    async with contextlib.AsyncExitStack() as stack:
        if redis:
            prefix = await stack.enter_async_context(
                contextlib.asynccontextmanager(reachable_prefix)()
            )
            env |= {"PARLOUR_REDIS__URL": redis_url(), "PARLOUR_REDIS__KEY_PREFIX": prefix}
        services = build_services(
            make_settings(
                tmp_path, database_url=database_url, public_url=url, master_key=master_key
            )
        )
        stack.push_async_callback(services.aclose)
        await services.migrate()
        yield env, port, services
