"""The line of turns waiting for a model that answers one at a time: bounded, and fair between
organisations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from parlour.llm.provider import ProviderBusy
from parlour.llm.waiting import FairLine

BOUND = 5.0  # seconds any wait here may take


async def until(ready: Callable[[], bool]) -> None:
    """Let the other tasks run (one loop pass at a time, no timer) until `ready` holds, within
    BOUND seconds."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(BOUND):
        while not ready():
            turn: asyncio.Future[None] = loop.create_future()
            loop.call_soon(turn.set_result, None)
            await turn


async def test_organisations_take_turns_whatever_order_their_questions_came_in() -> None:
    line = FairLine(capacity=10)
    served: list[str] = []
    release = asyncio.Event()

    async def ask(who: str) -> None:
        async with line.turn(who[0]):
            served.append(who)
            if who == "A0":
                await release.wait()  # holds the model while the others line up

    first = asyncio.create_task(ask("A0"))
    await until(lambda: served == ["A0"])
    others = [asyncio.create_task(ask(who)) for who in ("A1", "A2", "A3", "B1", "B2", "C1")]
    await until(lambda: line.waiting == 6)
    assert line.waiting == 6
    release.set()
    async with asyncio.timeout(BOUND):
        await asyncio.gather(first, *others)
    assert served == ["A0", "A1", "B1", "C1", "A2", "B2", "A3"]


async def test_a_turn_beyond_the_line_is_refused_at_once() -> None:
    line = FairLine(capacity=1)
    release = asyncio.Event()

    entered: list[str] = []

    async def hold() -> None:
        async with line.turn("a"):
            entered.append("a")
            await release.wait()

    holding = asyncio.create_task(hold())
    await until(lambda: entered == ["a"])
    waiting = asyncio.create_task(hold())
    await until(lambda: line.waiting == 1)
    with pytest.raises(ProviderBusy):
        async with line.turn("b"):
            pass
    release.set()
    async with asyncio.timeout(BOUND):
        await asyncio.gather(holding, waiting)
    async with line.turn("b"):  # free again
        assert line.waiting == 0


async def test_a_turn_given_up_while_waiting_leaves_the_line_and_the_next_one_is_served() -> None:
    line = FairLine(capacity=3)
    release = asyncio.Event()
    served: list[str] = []

    async def ask(who: str) -> None:
        async with line.turn(who):
            served.append(who)
            await release.wait()

    holding = asyncio.create_task(ask("a"))
    await until(lambda: served == ["a"])
    gone = asyncio.create_task(ask("b"))
    after = asyncio.create_task(ask("c"))
    await until(lambda: line.waiting == 2)
    gone.cancel()
    release.set()
    async with asyncio.timeout(BOUND):
        await asyncio.gather(holding, after)
    assert gone.cancelled()
    assert served == ["a", "c"]
    assert line.waiting == 0


async def test_one_organisations_flood_never_fills_the_line_against_another() -> None:
    """The line is full of A's turns when B asks: B takes the place of A's newest, which is
    turned away instead; B's second turn, once both have as many waiting, is turned away."""
    line = FairLine(capacity=3)
    release = asyncio.Event()
    served: list[str] = []

    async def ask(who: str) -> None:
        async with line.turn(who[0]):
            served.append(who)
            await release.wait()

    turns = {who: asyncio.create_task(ask(who)) for who in ("A0", "A1", "A2", "A3")}
    await until(lambda: served == ["A0"] and line.waiting == 3)
    turns["B1"] = asyncio.create_task(ask("B1"))
    await until(lambda: turns["A3"].done())  # turned away to make room for B1
    turns["B2"] = asyncio.create_task(ask("B2"))
    await until(lambda: turns["B2"].done())  # refused at once
    release.set()
    async with asyncio.timeout(BOUND):
        results = await asyncio.gather(*turns.values(), return_exceptions=True)
    refused = {who for who, r in zip(turns, results, strict=True) if isinstance(r, ProviderBusy)}
    assert refused == {"A3", "B2"}
    assert served == ["A0", "A1", "B1", "A2"]
