"""Issue 23, item 5: a generative answer combines up to k passages, each claim cited with the
passage it came from, shown as numbers naming the stored citations in order; references to
passages not given, and sentences nothing supports, never reach the customer. The model is
scripted; the turn, its filter and storage are the real ones."""

from __future__ import annotations

import secrets

import pytest

from parlour import metrics
from parlour.assistant.claims import ClaimCheck, Verdict
from parlour.assistant.output_filter import OutputFilter
from parlour.assistant.service import TurnLimits
from parlour.assistant.support import Support
from parlour.assistant.tools import Subject
from parlour.chat.models import AnswerStreaming
from parlour.chat.protocol import message_frame
from parlour.services import Services
from tests.support import seed
from tests.support.assistants import CitingModel, SayingModel, ask, assistant_with
from tests.support.seed import ACTOR

HOURS = "What are your opening hours?"
PASSWORD = "How do I reset my password?"
CARD = "How do I block my card?"
BOTH = "When are you open, and how do I reset my password?"
OPEN = "We are open Monday to Friday, 9:00 to 17:00"
RESET = "To reset your password, tap Forgot password on the sign-in screen"
MOON = "Our moon base sells cheese pizzas to astronauts daily"

PASSAGES = {
    "k1": f"{HOURS}\nWe are open Monday to Friday, 9:00 to 17:00.",
    "k2": f"{PASSWORD}\nTap Forgot password on the sign-in screen, then follow the link.",
}


def checked(text: str, *, chunk: int = 0) -> tuple[str, OutputFilter]:
    output = OutputFilter(
        "PCY-0123456789abcdef0123",
        set(),
        citable=list(PASSAGES),
        claims=ClaimCheck(PASSAGES, Support(PASSAGES.values())),
    )
    if chunk:
        released = "".join(output.feed(text[i : i + chunk]) for i in range(0, len(text), chunk))
    else:
        released = output.feed(text)
    return released + output.finish(), output


def claims_counted(verdict: str) -> float:
    return metrics.CLAIMS.labels(verdict, "")._value.get()


def unknown_counted() -> float:
    return metrics.UNKNOWN_REFERENCES.labels("")._value.get()


async def test_an_answer_combining_two_passages_cites_each_sentence_by_number_in_order(
    services: Services,
) -> None:
    model = CitingModel([(f"{RESET}.", PASSWORD), (f"{OPEN}.", HOURS), ("That is all.", None)])
    assistant = assistant_with(services, model)
    org = await seed.organisation(services)
    answer = await ask(services, assistant, org, BOTH)
    assert answer is not None
    assert answer.body == f"{RESET} [1]. {OPEN} [2]. That is all."
    assert [c.title for c in answer.citations] == [PASSWORD, HOURS]
    record = await assistant.turn_record(org.tenant_id, answer.message_id)
    assert record is not None
    assert record.chunk_ids == tuple(c.id for c in answer.citations)


async def test_the_model_is_given_up_to_k_passages_the_best_confident(
    services: Services,
) -> None:
    org = await seed.organisation(services)
    model = CitingModel([(f"{OPEN}.", HOURS)])
    await ask(services, assistant_with(services, model), org, BOTH)
    assert [g.title for g in model.seen[0].grounding] == [PASSWORD, HOURS]
    one = CitingModel([(f"{OPEN}.", HOURS)])
    limited = assistant_with(services, one, limits=TurnLimits(passages=1))
    await ask(services, limited, org, BOTH)
    assert [g.title for g in one.seen[0].grounding] == [PASSWORD]


async def test_a_reference_to_a_passage_not_given_never_reaches_the_customer_and_is_counted(
    services: Services,
) -> None:
    model = CitingModel([(f"{OPEN}.", "k9"), (f"{RESET}.", "k7")])
    assistant = assistant_with(services, model, limits=TurnLimits(delta_interval_seconds=0))
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    streamed: list[str] = []
    stop = await services.broker.listen(
        org.tenant_id,
        conversation.conversation_id,
        lambda event: streamed.append(event.text) if isinstance(event, AnswerStreaming) else None,
    )
    before = unknown_counted()
    answer = await ask(services, assistant, org, BOTH)
    stop()
    assert answer is not None
    assert "k9" not in "".join(streamed)
    assert "k7" not in "".join(streamed)
    # The passages that do support them are cited instead, numbered as the stream showed.
    assert answer.body == f"{OPEN} [1]. {RESET} [2]."
    assert answer.body.startswith("".join(streamed))  # the rest comes with the message
    assert [c.title for c in answer.citations] == [HOURS, PASSWORD]
    assert unknown_counted() - before == 2


async def test_a_sentence_no_material_supports_is_withheld_and_counted(
    services: Services,
) -> None:
    model = CitingModel([(f"{OPEN}.", HOURS), (f"{MOON}.", HOURS)])
    assistant = assistant_with(services, model, limits=TurnLimits(delta_interval_seconds=0))
    org = await seed.organisation(services)
    before = claims_counted(Verdict.WITHHELD)
    answer = await ask(services, assistant, org, "When are you open?")
    assert answer is not None
    assert answer.body == f"{OPEN} [1]."
    assert "moon" not in answer.body
    assert claims_counted(Verdict.WITHHELD) - before == 1


async def test_earlier_answers_reach_the_model_without_their_numbers(services: Services) -> None:
    org = await seed.organisation(services)
    first = CitingModel([(f"{OPEN}.", HOURS)])
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    later = SayingModel("Yes.")
    for model, text in ((first, "When are you open?"), (later, "What are your opening hours?")):
        appended = await services.chat.post_user_message(
            org.tenant_id, conversation.conversation_id, client_id=secrets.token_hex(8), text=text
        )
        await assistant_with(services, model).answer(
            appended.message, Subject(org.tenant_id, "u1", {})
        )
    said = [m.content for m in later.seen[0].messages if m.role == "assistant"]
    assert said == [f"{OPEN}."]


def test_a_claim_citing_the_wrong_passage_is_cited_with_the_one_that_supports_it() -> None:
    text, output = checked(f"{OPEN} [k2].")
    assert text == f"{OPEN} [1]."
    assert output.cited == ["k1"]
    assert [j.verdict for j in output.judgements] == [Verdict.CORRECTED]


def test_a_claim_citing_nothing_is_cited_with_the_passage_that_supports_it() -> None:
    text, output = checked(f"{OPEN}! Anything else?")
    assert text == f"{OPEN} [1]! Anything else?"
    assert [j.verdict for j in output.judgements] == [Verdict.ATTRIBUTED, Verdict.SHORT]


def test_numbers_follow_the_order_of_first_citation_and_repeat_for_the_same_passage() -> None:
    text, output = checked(f"{RESET} [k2]. {OPEN} [k1]. Then sign in with the new password [k2].")
    assert text == f"{RESET} [1]. {OPEN} [2]. Then sign in with the new password [1]."
    assert output.cited == ["k2", "k1"]


def test_a_claim_drawn_from_two_passages_keeps_both() -> None:
    text, output = checked("Open Monday to Friday; tap Forgot password to reset it [k1][k2].")
    assert text == "Open Monday to Friday; tap Forgot password to reset it [1][2]."
    assert output.cited == ["k1", "k2"]


def test_bracketed_numbers_the_model_writes_are_removed() -> None:
    """Every number in brackets in an answer is Parlour's, naming a citation."""
    text, output = checked(f"{OPEN} [3]. {RESET} [12] [k2].")
    assert text == f"{OPEN} [1]. {RESET} [2]."
    assert output.cited == ["k1", "k2"]
    plain = OutputFilter("PCY-0123456789abcdef0123", set(), citable=["k1"])
    assert plain.feed("Open daily [2] [k1].") + plain.finish() == "Open daily."


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 11])
def test_streamed_in_any_pieces_the_cited_answer_is_the_same_as_whole(chunk: int) -> None:
    answer = f"{RESET}. [k2] {OPEN} [k9]. {MOON}.\n- Sign in again [k2]\n{OPEN}! [k1][k2] Bye [7]."
    whole, out = checked(answer)
    streamed, pieces = checked(answer, chunk=chunk)
    assert streamed == whole
    assert pieces.cited == out.cited == ["k2", "k1"]
    assert "moon" not in whole
    assert "k9" not in whole
    assert "[7]" not in whole


def test_a_sentence_is_not_released_before_its_references_are_known() -> None:
    output = OutputFilter(
        "PCY-0123456789abcdef0123",
        set(),
        citable=list(PASSAGES),
        claims=ClaimCheck(PASSAGES, Support(PASSAGES.values())),
    )
    early = output.feed(f"{OPEN}. [k")
    assert "[" not in early
    rest = output.feed(f"1] {RESET}") + output.finish()
    assert early + rest == f"{OPEN} [1]. {RESET} [2]"


async def test_a_citation_of_a_source_with_a_page_carries_its_url_stored_and_sent(
    backend: Services,
) -> None:
    faq = (
        b'question,answer\nHow do I reset my password?,"Tap Forgot password on the sign-in screen."'
    )
    org = await seed.organisation(backend, faq=faq)
    url = "https://bank.example/help/hours"
    hours = b"# What are your opening hours?\nWe are open Monday to Friday, 9:00 to 17:00.\n"
    await backend.knowledge.upload(org.tenant_id, "hours.md", hours, actor=ACTOR, source_url=url)
    model = CitingModel([(f"{RESET}.", PASSWORD), (f"{OPEN}.", HOURS)])
    answer = await ask(backend, assistant_with(backend, model), org, BOTH)
    assert answer is not None
    assert [(c.title, c.url) for c in answer.citations] == [(PASSWORD, None), (HOURS, url)]
    [_, stored] = await backend.chat.history(
        org.tenant_id, answer.conversation_id, after_seq=0, limit=10
    )
    assert stored.citations == answer.citations
    frame = message_frame(stored)
    assert frame["citations"] == [
        {"id": answer.citations[0].id, "title": PASSWORD},
        {"id": answer.citations[1].id, "title": HOURS, "url": url},
    ]


@pytest.mark.parametrize("chunk", [0, 1, 4])
def test_references_written_as_a_group_are_read_and_none_reaches_the_customer(
    chunk: int,
) -> None:
    text, output = checked(
        f"{OPEN} [k1, k9]. Tap Forgot password on the sign-in screen, then the link [K2; k1].",
        chunk=chunk,
    )
    assert text == (f"{OPEN} [1]. Tap Forgot password on the sign-in screen, then the link [2][1].")
    assert output.cited == ["k1", "k2"]
    assert [j.unknown for j in output.judgements] == [1, 0]


def test_a_withheld_sentence_goes_whole_with_any_value_in_it() -> None:
    text, output = checked(f"{OPEN}. Our moon base pizzas: call 0161 496 0000 now.\nBye.")
    assert text == f"{OPEN} [1]. Bye."
    assert [j.verdict for j in output.judgements] == [
        Verdict.ATTRIBUTED,  # it wrote no reference; the passage holding its words is cited
        Verdict.WITHHELD,
        Verdict.SHORT,
    ]
