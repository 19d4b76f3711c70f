"""What crosses between nodes for the customer's side of the desk: a member's typing with their
display name, and read positions (never message content)."""

from __future__ import annotations

from parlour.chat.models import Author, ReadUpTo, TypingChanged
from parlour.chat.redis_broker import decode, encode


def test_typing_with_a_name_and_read_positions_cross_nodes_intact() -> None:
    for event in (
        TypingChanged(Author.AGENT, True, "Ada L"),
        TypingChanged(Author.ASSISTANT, False),
        ReadUpTo(Author.AGENT, 7),
        ReadUpTo(Author.USER, 3),
    ):
        notice = encode(event, "node-a")
        assert notice is not None
        assert decode(notice) == (event, "node-a")
