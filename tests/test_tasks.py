"""The node's shared tasks start in a context of their own."""

from __future__ import annotations

import asyncio
import contextvars

from parlour.tasks import detached

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
