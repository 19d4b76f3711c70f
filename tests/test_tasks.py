"""The node's shared tasks start in a context of their own."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from parlour.tasks import Periodic, detached

CREATOR: contextvars.ContextVar[str] = contextvars.ContextVar("creator", default="none")


async def _creator() -> str:
    return CREATOR.get()


async def test_a_detached_task_sees_none_of_its_creators_context_and_a_plain_one_does() -> None:
    token = CREATOR.set("request-1")
    try:
        plain = asyncio.create_task(_creator())
        shared = detached(_creator(), name="shared")
    finally:
        CREATOR.reset(token)
    async with asyncio.timeout(5):
        assert (await plain, await shared) == ("request-1", "none")
    assert shared.get_name() == "shared"


async def test_periodic_rounds_go_on_after_a_failed_one_which_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    third = asyncio.Event()

    async def round() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the first round fails")
        if len(rounds) == 3:
            third.set()

    periodic = Periodic(round, 0, failed="a round failed", first_at_start=True)
    periodic.start()
    await asyncio.wait_for(third.wait(), timeout=10)
    await periodic.aclose()

    assert rounds[:3] == [0, 1, 2]
    assert [r.getMessage() for r in caplog.records if r.name == "parlour.tasks"] == [
        "a round failed"
    ]


async def test_a_woken_periodic_begins_its_next_round_without_waiting_out_the_hour() -> None:
    rounds: list[int] = []
    ran = asyncio.Event()

    async def round() -> None:
        rounds.append(len(rounds))
        ran.set()

    periodic = Periodic(round, 3600, failed="a round failed", first_at_start=True)
    periodic.start()
    for _ in range(2):
        await asyncio.wait_for(ran.wait(), timeout=10)
        ran.clear()
        periodic.wake()
    await asyncio.wait_for(ran.wait(), timeout=10)
    await periodic.aclose()
    assert rounds == [0, 1, 2]
