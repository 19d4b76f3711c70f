"""The package's reference client keeps the protocol's delivery promises on its side."""

from __future__ import annotations

from parlour.client import ChatClient
from tests.conftest import Stack
from tests.support import seed


async def test_the_client_counts_its_own_accepted_message_as_delivered_and_acknowledges_it(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    await seed.with_a_person(stack.services, org)

    async def token() -> str:
        return await seed.token_for(stack.services, org)

    chat = ChatClient(stack.ws_url, org.widget_id, token, origin=org.origin)
    await chat.connect()
    handoff = await chat.next_frame()
    client_id = await chat.send("where is my parcel?")
    accepted = await chat.next_frame()
    await chat.close()
    ready = await chat.connect()  # resumes after what it delivered: nothing is sent again
    await chat.send("and my refund?")
    after_resume = await chat.next_frame()
    await chat.close()

    assert (handoff["type"], handoff["seq"]) == ("handoff", 1)
    assert (accepted["type"], accepted["client_id"], accepted["seq"]) == ("accepted", client_id, 2)
    assert ready["last_seq"] == 2
    assert (after_resume["type"], after_resume["seq"]) == ("accepted", 3)
    assert chat.last_seq == 3
    assert chat.pending == {}
