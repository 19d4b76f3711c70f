"""What a user's message may be: text, trimmed and normalised, within the length limit."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from parlour.chat.service import ChatService
from parlour.errors import InvalidInput
from parlour.services import Services

CONTROLS = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]


def test_every_control_character_but_line_feed_and_tab_is_refused(services: Services) -> None:
    chat: ChatService = services.chat
    for control in CONTROLS:
        text = f"before{control}after"
        if control in "\n\t":
            assert chat.clean_text(text) == text
        else:
            with pytest.raises(InvalidInput, match="control characters"):
                chat.clean_text(text)


def test_text_is_trimmed_and_normalised_to_composed_form(services: Services) -> None:
    assert services.chat.clean_text("  Cafe\u0301 au lait \n") == "Caf\u00e9 au lait"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_a_message_with_no_text_is_refused(services: Services, text: str) -> None:
    with pytest.raises(InvalidInput, match="needs some text"):
        services.chat.clean_text(text)


def test_a_message_over_the_length_limit_is_refused(services: Services) -> None:
    limit = services.settings.gateway.max_message_chars
    assert services.chat.clean_text("x" * limit) == "x" * limit
    with pytest.raises(InvalidInput, match=f"at most {limit}"):
        services.chat.clean_text("x" * (limit + 1))
