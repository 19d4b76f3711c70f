"""Client frames are parsed strictly; anything else is a typed bad_frame error."""

from __future__ import annotations

import json
import uuid

import pytest

from parlour.chat.protocol import AuthFrame, BadFrame, SendFrame, parse_client_frame


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
