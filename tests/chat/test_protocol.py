"""Client frames are parsed strictly; anything else is a typed bad_frame error."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from parlour.chat.models import Author, Message, MessageKind
from parlour.chat.protocol import (
    AuthFrame,
    BadFrame,
    FeedbackFrame,
    ReadFrame,
    SendFrame,
    feedback_frame,
    message_frame,
    parse_client_frame,
    ready_frame,
    typing_frame,
)


def test_known_frames_parse_into_their_types() -> None:
    client_id = uuid.uuid4()
    frame = parse_client_frame(
        json.dumps({"type": "message", "client_id": str(client_id), "text": "hi"})
    )
    assert frame == SendFrame(type="message", client_id=client_id, text="hi")
    assert isinstance(parse_client_frame('{"type":"auth","token":"t","last_seq":3}'), AuthFrame)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '"auth"',
        '{"type":"unknown"}',
        '{"type":"auth"}',
        '{"type":"auth","token":"t","last_seq":-1}',
        '{"type":"message","client_id":"not-a-uuid","text":"x"}',
        '{"type":"ack","seq":"1"}',
        '{"type":"typing","state":true,"tenant_id":"someone-else"}',
        "[" * 10_000 + "]" * 10_000,
    ],
)
def test_malformed_or_unknown_frames_are_bad_frames(text: str) -> None:
    """T-24: including unknown fields (mass assignment) and deep nesting."""
    with pytest.raises(BadFrame) as bad:
        parse_client_frame(text)
    assert bad.value.code == "bad_frame"


def _message(author: Author, author_name: str | None) -> Message:
    return Message(
        tenant_id="t",
        conversation_id="c",
        seq=4,
        message_id="m",
        kind=MessageKind.TEXT,
        author=author,
        body="Hello",
        created_at=datetime(2026, 12, 6, 7, 0, tzinfo=UTC),
        author_name=author_name,
    )


def test_an_agents_message_frame_carries_the_name_it_was_sent_under() -> None:
    assert message_frame(_message(Author.AGENT, "Ada L"))["author_name"] == "Ada L"
    assert "author_name" not in message_frame(_message(Author.AGENT, None))
    # Only an agent's message is signed: a name never rides on another author's.
    assert "author_name" not in message_frame(_message(Author.ASSISTANT, "Ada L"))


def test_ready_says_whether_people_can_be_asked_for_and_typing_may_name_the_agent() -> None:
    moment = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    assert ready_frame("c", 0, moment)["people"] is False
    assert ready_frame("c", 0, moment, people=True)["people"] is True
    assert typing_frame("agent", True, "Ada L") == {
        "type": "typing",
        "author": "agent",
        "state": True,
        "name": "Ada L",
    }
    assert typing_frame("assistant", False) == {
        "type": "typing",
        "author": "assistant",
        "state": False,
    }


def test_a_read_frame_names_a_non_negative_seq() -> None:
    assert parse_client_frame('{"type":"read","seq":3}') == ReadFrame(type="read", seq=3)
    for text in ('{"type":"read","seq":-1}', '{"type":"read"}', '{"type":"read","seq":"3"}'):
        with pytest.raises(BadFrame):
            parse_client_frame(text)


def test_a_feedback_frame_names_an_answer_by_id_and_thumbs_up_or_down() -> None:
    frame = parse_client_frame('{"type":"feedback","id":"answer-1","thumbs":"down"}')
    assert frame == FeedbackFrame(type="feedback", id="answer-1", thumbs="down")
    assert feedback_frame("answer-1", "down") == {
        "type": "feedback_saved",
        "id": "answer-1",
        "thumbs": "down",
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"feedback","id":"a","thumbs":"sideways"}',
        '{"type":"feedback","id":"a","thumbs":1}',
        '{"type":"feedback","id":"","thumbs":"up"}',
        '{"type":"feedback","thumbs":"up"}',
        '{"type":"feedback","id":"a"}',
        '{"type":"feedback","id":' + json.dumps("x" * 65) + ',"thumbs":"up"}',
        '{"type":"feedback","id":"a","thumbs":"up","conversation_id":"another"}',
        '{"type":"feedback","seq":3,"thumbs":"up"}',
    ],
)
def test_a_feedback_frame_with_other_thumbs_or_fields_is_a_bad_frame(text: str) -> None:
    with pytest.raises(BadFrame):
        parse_client_frame(text)
