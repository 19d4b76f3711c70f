"""The session's delivery rule: no duplicates, no gaps, whatever order events arrive in."""

from __future__ import annotations

import uuid
from datetime import timedelta

from parlour.chat.models import Author, MessageAdded, TypingChanged
from parlour.chat.protocol import SendFrame
from parlour.chat.session import ChatSession
from parlour.keys.models import EndUser
from parlour.services import Services
from parlour.storage.types import utcnow
from tests.support import seed
from tests.support.chat import listening


async def session_with_messages(services: Services, count: int) -> tuple[ChatSession, list]:
    org = await seed.organisation(services, faq=None)
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    messages = [
        await services.chat.post(
            org.tenant_id, conversation.conversation_id, author=Author.ASSISTANT, body=f"m{i}"
        )
        for i in range(1, count + 1)
    ]
    user = EndUser(org.tenant_id, "u1", org.origin, "jti", utcnow() + timedelta(minutes=5))
    return ChatSession(services.chat, user, conversation, page_size=2), messages


async def test_start_sends_ready_then_everything_after_last_seq_across_pages(
    services: Services,
) -> None:
    session, _ = await session_with_messages(services, 5)
    frames = await session.start(last_seq=1)
    assert frames[0]["type"] == "ready"
    assert frames[0]["last_seq"] == 5
    assert [f["seq"] for f in frames[1:]] == [2, 3, 4, 5]


async def test_events_already_delivered_are_dropped(services: Services) -> None:
    session, messages = await session_with_messages(services, 3)
    await session.start(last_seq=None)
    assert await session.on_event(MessageAdded(messages[1])) == []


async def test_an_event_after_a_gap_fills_the_gap_from_the_database(services: Services) -> None:
    session, messages = await session_with_messages(services, 4)
    await session.start(last_seq=None)
    session.delivered_seq = 1  # as if events 2 and 3 were lost on the way
    frames = await session.on_event(MessageAdded(messages[3]))
    assert [f["seq"] for f in frames] == [2, 3, 4]
    assert session.delivered_seq == 4


async def test_a_client_is_not_told_that_its_own_side_is_typing(services: Services) -> None:
    session, _ = await session_with_messages(services, 0)
    assert await session.on_event(TypingChanged(Author.USER, True)) == []
    assert await session.on_event(TypingChanged(Author.ASSISTANT, True)) == [
        {"type": "typing", "author": "assistant", "state": True}
    ]


async def test_resuming_from_beyond_the_end_is_clamped(services: Services) -> None:
    session, _ = await session_with_messages(services, 2)
    frames = await session.start(last_seq=99)
    assert frames[1:] == []
    assert session.delivered_seq == 2


async def test_read_receipts_reach_the_other_side_but_not_the_users_own_devices(
    services: Services,
) -> None:
    from parlour.chat.models import ReadUpTo
    from parlour.chat.protocol import ReadFrame

    session, _ = await session_with_messages(services, 3)
    await session.start(last_seq=None)
    async with listening(services.chat.broker, session.tenant_id, session.conversation_id) as seen:
        await session.handle(ReadFrame(type="read", seq=3))
        assert seen.get_nowait() == ReadUpTo(Author.USER, 3)
    assert await session.on_event(ReadUpTo(Author.USER, 3)) == []
    assert await session.on_event(ReadUpTo(Author.AGENT, 2)) == [
        {"type": "read", "seq": 2, "by": "agent"}
    ]


async def test_a_message_wants_an_answer_only_while_the_assistant_has_the_conversation(
    services: Services,
) -> None:
    session, _ = await session_with_messages(services, 0)
    await session.start(last_seq=None)
    before = await session.handle(SendFrame(type="message", client_id=uuid.uuid4(), text="hi"))
    assert before.new_user_message is not None
    await services.chat.request_handoff(session.tenant_id, session.conversation_id)
    after = await session.handle(SendFrame(type="message", client_id=uuid.uuid4(), text="hi"))
    assert after.new_user_message is None
    assert after.frames[0]["type"] == "accepted"


async def test_an_accepted_right_after_the_last_frame_sent_delivers_the_message_itself(
    services: Services,
) -> None:
    sender, _ = await session_with_messages(services, 1)
    other_device = ChatSession(services.chat, sender.user, sender.conversation, page_size=2)
    for session in (sender, other_device):
        for frame in await session.start(last_seq=None):
            session.sent(frame)
    outcome = await sender.handle(SendFrame(type="message", client_id=uuid.uuid4(), text="hi"))
    accepted = outcome.frames[0]
    sender.sent(accepted)
    assert outcome.new_user_message is not None
    echo = MessageAdded(outcome.new_user_message)
    assert accepted["seq"] == 2
    assert accepted["id"] == outcome.new_user_message.message_id
    assert await sender.on_event(echo) == []
    assert [f["text"] for f in await other_device.on_event(echo)] == ["hi"]


async def test_an_accepted_behind_a_frame_not_yet_sent_leaves_the_message_frame_to_follow(
    services: Services,
) -> None:
    session, _ = await session_with_messages(services, 0)
    for frame in await session.start(last_seq=None):
        session.sent(frame)
    answer = await services.chat.post(
        session.tenant_id, session.conversation_id, author=Author.ASSISTANT, body="an answer"
    )  # seq 1, its event still queued for this socket
    outcome = await session.handle(SendFrame(type="message", client_id=uuid.uuid4(), text="hi"))
    session.sent(outcome.frames[0])
    assert outcome.new_user_message is not None
    frames = await session.on_event(MessageAdded(answer))
    frames += await session.on_event(MessageAdded(outcome.new_user_message))
    assert [(f["seq"], f["text"]) for f in frames] == [(1, "an answer"), (2, "hi")]


async def test_the_customers_read_position_is_stored_only_forward_and_told_once(
    backend: Services,
) -> None:
    from parlour.chat.models import ReadUpTo
    from parlour.chat.protocol import ReadFrame

    session, _ = await session_with_messages(backend, 3)
    await session.start(last_seq=None)
    async with listening(backend.chat.broker, session.tenant_id, session.conversation_id) as seen:
        await session.handle(ReadFrame(type="read", seq=3))
        await session.handle(ReadFrame(type="read", seq=2))  # behind: changes nothing
        await session.handle(ReadFrame(type="read", seq=3))  # the same: told nobody again
        told = [seen.get_nowait() for _ in range(seen.qsize())]
    assert told == [ReadUpTo(Author.USER, 3)]
    stored = await backend.chat.get_conversation(session.tenant_id, session.conversation_id)
    assert (stored.customer_read_seq, stored.agent_read_seq) == (3, 0)


async def test_the_peoples_read_position_reaches_the_customer_live_and_on_resume(
    backend: Services,
) -> None:
    from parlour.chat.models import ReadUpTo

    session, _ = await session_with_messages(backend, 3)
    await session.start(last_seq=None)
    tenant_id, conversation_id = session.tenant_id, session.conversation_id
    async with listening(backend.chat.broker, tenant_id, conversation_id) as seen:
        assert await backend.chat.mark_read(tenant_id, conversation_id, Author.AGENT, 2)
        assert not await backend.chat.mark_read(tenant_id, conversation_id, Author.AGENT, 1)
        event = seen.get_nowait()
    assert event == ReadUpTo(Author.AGENT, 2)
    assert await session.on_event(event) == [{"type": "read", "seq": 2, "by": "agent"}]
    # Beyond the conversation's last message: nothing moves, nothing is told.
    assert not await backend.chat.mark_read(tenant_id, conversation_id, Author.AGENT, 4)
    again = ChatSession(backend.chat, session.user, session.conversation, page_size=2)
    frames = await again.start(last_seq=None)
    assert frames[-1] == {"type": "read", "seq": 2, "by": "agent"}


async def test_an_agents_typing_reaches_the_customer_with_their_name(services: Services) -> None:
    session, _ = await session_with_messages(services, 0)
    async with listening(services.chat.broker, session.tenant_id, session.conversation_id) as seen:
        await services.chat.set_typing(
            session.tenant_id, session.conversation_id, Author.AGENT, True, name="Ada L"
        )
        event = seen.get_nowait()
    assert await session.on_event(event) == [
        {"type": "typing", "author": "agent", "state": True, "name": "Ada L"}
    ]
