"""Several processes per node (`parlour serve --workers N`): they share one port, and the
database and Redis as nodes do; a worker that dies is replaced; the embedded profile, whose
fan-out lives in one process, refuses them with the reason."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from parlour.cli import main
from parlour.settings import DatabaseSettings, RedisSettings, Settings
from parlour.web.workers import WorkersRefused, check_workers
from tests.support import seed
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say
from tests.support.nodes import a_node_and_its_services, serving
from tests.support.servers import START_TIMEOUT_SECONDS, STARTED

PROFILE = "the scaled-out profile"


def test_the_embedded_profile_refuses_several_workers_and_says_why(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--workers", "2"], env={"PARLOUR_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert PROFILE in result.output
    assert "Uvicorn running" not in result.output  # refused before anything listens


@pytest.mark.parametrize(
    ("database", "redis"),
    [
        (None, "redis://127.0.0.1:6379/0"),  # SQLite in the data folder
        ("sqlite+aiosqlite:///parlour.db", "redis://127.0.0.1:6379/0"),
        ("postgresql+asyncpg://127.0.0.1/parlour", None),  # fan-out in one process
    ],
)
def test_workers_need_both_a_database_server_and_redis(
    database: str | None, redis: str | None
) -> None:
    settings = Settings(database=DatabaseSettings(url=database), redis=RedisSettings(url=redis))
    check_workers(settings, 1)  # one process is always fine
    with pytest.raises(WorkersRefused, match=PROFILE):
        check_workers(settings, 2)


def workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_share_the_port_and_a_dead_one_is_replaced(
    postgres_url: str, tmp_path: Path
) -> None:
    async with a_node_and_its_services(tmp_path, postgres_url, redis=True) as (env, port, services):
        org = await seed.organisation(services)
        with serving(env, port, workers=2) as node:
            first = workers_of(node.process.pid)
            assert len(first) >= 2  # two workers (and multiprocessing's resource tracker)
            async with open_socket(node.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
                await say(ws, "What are your opening hours?")
                frames = await receive_until(ws, is_assistant_message, timeout=10)
            assert frames[-1]["text"] == "We are open Monday to Friday, 9:00 to 17:00."

            victim = max(first)
            os.kill(victim, signal.SIGKILL)
            node.wait_for("starting another", START_TIMEOUT_SECONDS)
            node.wait_for(STARTED, START_TIMEOUT_SECONDS)
            assert victim not in workers_of(node.process.pid)
            async with open_socket(node.ws_url, org.widget_id, org.origin) as ws:
                ready = await authenticate(ws, await seed.token_for(services, org))
            assert ready["last_seq"] == 2  # the conversation, from whichever worker answers

            node.process.send_signal(signal.SIGTERM)
            assert node.process.wait(timeout=START_TIMEOUT_SECONDS) == 0
