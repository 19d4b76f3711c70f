"""The desk's events between nodes: what a notice carries, and what a malformed one does."""

from __future__ import annotations

import json

import pytest

from parlour.chat.broker import InProcessBroker
from parlour.chat.desk_events import (
    ConversationChanged,
    DeskTyping,
    MessageNoted,
    NoteAdded,
    decode,
    encode,
)
from parlour.chat.models import Resync


def test_a_notice_round_trips_and_names_its_node() -> None:
    for event in (
        ConversationChanged("c1", "customer-1", "queued", None, 3, created=True),
        MessageNoted("c1", 4, "user"),
        DeskTyping("c1", "agent", True, "acc-1"),
        NoteAdded("c1", "n1"),
    ):
        assert decode(encode(event, "node-a")) == (event, "node-a")


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        json.dumps({"t": "stored", "n": "x", "conversation_id": "c1"}),  # no seq
        json.dumps({"t": "stored", "n": "x", "conversation_id": "c1", "seq": "4", "author": "u"}),
        json.dumps(
            {"t": "typing", "n": "x", "conversation_id": "c1", "author": "hacker", "active": True}
        ),
        json.dumps({"t": "unknown", "n": "x"}),
        json.dumps({"t": "note", "n": "x", "conversation_id": 5, "note_id": "n"}),
        json.dumps({"t": "note", "n": "x", "conversation_id": "c", "note_id": "n", "text": "x"}),
    ],
)
def test_a_malformed_notice_is_ignored(payload: str) -> None:
    assert decode(payload) is None


async def test_desk_listeners_are_told_to_resync_when_the_shared_broker_may_have_lost_events() -> (
    None
):
    """The members' sockets close with 1013 and reconnect, as the customers' do."""
    broker = InProcessBroker()
    heard: list[object] = []
    stop = await broker.listen_desk("t1", heard.append)
    broker.resync_all()
    await broker.publish_desk("t1", NoteAdded("c1", "n1"))
    stop()
    await broker.publish_desk("t1", NoteAdded("c1", "n2"))
    assert heard == [Resync(), NoteAdded("c1", "n1")]
