"""The middle band (issue 23, item 2) on both backends: a turn unsure between a few entries
offers them as choices; a pick answers from the chosen entry and teaches it the question, for
that organisation only (assistant/choices.py, knowledge/learned.py). The thresholds are set
here: the platform's defaults have no middle band."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from parlour.assistant.choices import AlreadyChosen, NotAnOffer, OfferStale
from parlour.assistant.models import Outcome
from parlour.assistant.tools import Subject
from parlour.chat.models import Author, Choice, ConversationStatus, Message
from parlour.keys.models import EndUser
from parlour.knowledge.learned import LearnedPhrasings, Learning, LearningLimits
from parlour.rate_limits import RateLimits
from parlour.services import Services
from parlour.storage.tables import learned_phrasings, messages
from parlour.storage.types import utcnow
from tests.conftest import migrated_services
from tests.support import seed

# Answer at 0.6 and above; offer between 0.3 and 0.6 (tests/assistant/test_bands.py).
MIDDLE_BAND = {"min_confidence": 0.6, "min_offer_confidence": 0.3, "choices": 3}
UNSURE = "help with my account"  # the password's entry at ~0.54, the card's at ~0.37


@pytest.fixture
async def offering(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Migrated services on each backend whose assistant has a middle band."""
    async with migrated_services(tmp_path, database_url, assistant=MIDDLE_BAND) as built:
        yield built


def customer(org: seed.Organisation, user: str = "u1") -> EndUser:
    return EndUser(org.tenant_id, user, org.origin, "jti", utcnow() + timedelta(minutes=5))


async def offer(
    services: Services, org: seed.Organisation, question: str = UNSURE, *, user: str = "u1"
) -> Message:
    """Ask in a new conversation of `user`; the assistant's reply."""
    conversation = await services.chat.open_conversation(org.tenant_id, user)
    asked = await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id=secrets.token_hex(8), text=question
    )
    reply = await services.assistant.answer(asked.message, Subject(org.tenant_id, user, {}))
    assert reply is not None
    return reply


async def pick(
    services: Services, org: seed.Organisation, offered: Message, choice: str, *, user: str = "u1"
) -> Message:
    """Pick `choice` of the offer; the answer that follows, once the pick's work is done."""
    await services.assistant.choices.choose(
        org.tenant_id, offered.conversation_id, offered.message_id, choice, customer(org, user)
    )
    await services.assistant.choices.settled()
    history = await services.chat.history(
        org.tenant_id, offered.conversation_id, after_seq=offered.seq, limit=10
    )
    return history[-1]


async def test_an_unsure_question_is_offered_its_entries_as_choices_durably(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)

    offered = await offer(services, org)

    assert offered.choices == (
        Choice("1", "How do I reset my password?"),
        Choice("2", "How do I block my card?"),
    )
    assert offered.actions == ("handoff",)  # "None of these": a person
    assert offered.citations == ()
    record = await services.assistant.turn_record(org.tenant_id, offered.message_id)
    assert record is not None
    assert record.outcome is Outcome.OFFERED
    # What a reconnecting widget reads back: the offer, its choices sealed.
    (stored,) = [
        m
        for m in await services.chat.history(
            org.tenant_id, offered.conversation_id, after_seq=0, limit=10
        )
        if m.author is Author.ASSISTANT
    ]
    assert stored.choices == offered.choices
    async with services.db.read(org.tenant_id) as conn:
        sealed = (
            await conn.execute(
                select(messages.c.choices_sealed).where(messages.c.message_id == offered.message_id)
            )
        ).scalar_one()
    assert b"reset my password" not in sealed
    counts = await services.assistant.outcome_counts(org.tenant_id)
    assert [(c.outcome, c.turns) for c in counts] == [(Outcome.OFFERED, 1)]


async def test_the_default_thresholds_have_no_middle_band(backend: Services) -> None:
    org = await seed.organisation(backend)

    refused = await offer(backend, org)

    assert refused.choices == ()
    record = await backend.assistant.turn_record(org.tenant_id, refused.message_id)
    assert record is not None
    assert record.outcome is Outcome.ABSTAINED


async def test_a_pick_answers_from_the_chosen_entry_recorded_as_chosen(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)
    offered = await offer(services, org)

    answer = await pick(services, org, offered, "2")

    assert answer.author is Author.ASSISTANT
    assert "Freeze card" in answer.body
    assert [c.title for c in answer.citations] == ["How do I block my card?"]
    record = await services.assistant.turn_record(org.tenant_id, answer.message_id)
    assert record is not None
    assert (record.outcome, record.reason) == (Outcome.ANSWERED, "chosen")


async def test_a_pick_of_anything_but_an_offer_of_the_conversation_is_refused(
    offering: Services,
) -> None:
    """T-29: a pick names a place in an offer of the customer's own conversation; another
    conversation's or organisation's offer, an answer, or a made-up place is `not_an_offer`."""
    services = offering
    org = await seed.organisation(services)
    other_org = await seed.organisation(services, name="Other Org")
    offered = await offer(services, org)
    elsewhere = await offer(services, org, user="u2")
    theirs = await offer(services, other_org)
    answered = await offer(services, org, "How do I reset my password?")
    choices = services.assistant.choices
    me = customer(org)

    for message_id, choice in (
        (elsewhere.message_id, "1"),  # another conversation's offer
        (theirs.message_id, "1"),  # another organisation's
        (answered.message_id, "1"),  # an answer, not an offer
        (offered.message_id, "3"),  # no such place
        (offered.message_id, "0"),
        (offered.message_id, "k1"),
        ("forged", "1"),
    ):
        with pytest.raises(NotAnOffer):
            await choices.choose(org.tenant_id, offered.conversation_id, message_id, choice, me)
    with pytest.raises(NotAnOffer):  # the other organisation's offer, asked as its tenant
        await choices.choose(
            other_org.tenant_id, offered.conversation_id, offered.message_id, "1", me
        )
    await choices.settled()
    assert (
        await services.knowledge.learned.of_entry(org.tenant_id, "How do I reset my password?")
        == []
    )


async def test_a_second_pick_is_refused_and_changes_nothing(offering: Services) -> None:
    services = offering
    org = await seed.organisation(services)
    offered = await offer(services, org)
    await pick(services, org, offered, "1")

    with pytest.raises(AlreadyChosen):
        await services.assistant.choices.choose(
            org.tenant_id, offered.conversation_id, offered.message_id, "2", customer(org)
        )

    await services.assistant.choices.settled()
    history = await services.chat.history(
        org.tenant_id, offered.conversation_id, after_seq=0, limit=10
    )
    assert len(history) == 3  # the question, the offer, one answer
    assert await services.knowledge.learned.of_entry(org.tenant_id, "How do I block my card?") == []


async def test_a_pick_once_a_person_has_the_conversation_is_stale(offering: Services) -> None:
    services = offering
    org = await seed.organisation(services)
    offered = await offer(services, org)
    await services.chat.request_handoff(org.tenant_id, offered.conversation_id)
    conversation = await services.chat.get_conversation(org.tenant_id, offered.conversation_id)
    assert conversation.status is ConversationStatus.QUEUED

    with pytest.raises(OfferStale):
        await services.assistant.choices.choose(
            org.tenant_id, offered.conversation_id, offered.message_id, "1", customer(org)
        )


async def test_a_pick_teaches_the_entry_the_question_audited_without_its_text(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)
    offered = await offer(services, org)

    await pick(services, org, offered, "1")

    (learned,) = await services.knowledge.learned.of_entry(
        org.tenant_id, "How do I reset my password?"
    )
    assert learned.text == UNSURE
    async with services.db.read(org.tenant_id) as conn:
        sealed = (await conn.execute(select(learned_phrasings.c.phrasing_sealed))).scalar_one()
    assert UNSURE.encode() not in sealed
    exported = [e async for e in services.audit.export(org.tenant_id)]
    (event,) = [e for e in exported if e["action"] == "knowledge.phrasing_learned"]
    assert event["data"] == {"entry_id": learned.entry_id, "phrasing_id": learned.phrasing_id}
    assert UNSURE not in repr(exported)
    # The same question now finds the entry with confidence: the assistant answers it.
    again = await offer(services, org, user="u2")
    assert again.choices == ()
    assert "Forgot password" in again.body


async def test_a_question_with_personal_data_or_a_secret_is_never_learned(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)
    learned = services.knowledge.learned
    (entry,) = [
        e
        for e in await services.knowledge.faq_entries(org.tenant_id)
        if e.question.startswith("How do I reset")
    ]

    outcomes = [
        await learned.learn(org.tenant_id, entry, question, customer="u1")
        for question in (
            "help with my account, I am jo@example.com",
            "my account GB82WEST12345698765432 is locked",
            "login fails, key sk-4eC39HqLyjWDarjtT1zdp7dc",
            "help with my account, call me on 07700 900123",
            "x" * 201,
        )
    ]

    assert outcomes == [Learning.SCREENED] * 4 + [Learning.TOO_LONG]
    assert await learned.of_entry(org.tenant_id, entry.question) == []


async def test_learning_is_rate_limited_per_customer_organisation_and_entry(
    offering: Services,
) -> None:
    """T-25: one customer cannot flood an entry (or an organisation) with phrasings."""
    services = offering
    org = await seed.organisation(services)
    entries = {e.question: e for e in await services.knowledge.faq_entries(org.tenant_id)}
    password, card = entries["How do I reset my password?"], entries["How do I block my card?"]
    limits = LearningLimits(per_entry=3, per_customer="2/hour", per_tenant="4/hour")
    learned = LearnedPhrasings(
        services.db,
        services.vault,
        services.audit,
        services.knowledge.upload,
        RateLimits(limits.rules),
        embedder=None,
        limits=limits,
        clock=services.clock,
    )

    by_one = [
        await learned.learn(org.tenant_id, password, f"login trouble number {n}", customer="u1")
        for n in range(3)
    ]
    by_another = await learned.learn(org.tenant_id, password, "locked out", customer="u2")
    to_a_full_entry = await learned.learn(org.tenant_id, password, "cannot log in", customer="u3")
    by_others = [
        await learned.learn(org.tenant_id, card, f"lost card {n}", customer=f"c{n}")
        for n in range(2)
    ]

    assert by_one == [Learning.LEARNED, Learning.LEARNED, Learning.CUSTOMER_RATE]
    assert by_another is Learning.LEARNED
    assert to_a_full_entry is Learning.ENTRY_FULL
    assert by_others == [Learning.LEARNED, Learning.TENANT_RATE]
    assert len(await learned.of_entry(org.tenant_id, password.question)) == 3


async def test_a_phrasing_learned_in_one_organisation_never_changes_anothers_retrieval(
    offering: Services,
) -> None:
    """T-29: each organisation's index holds its own entries and what its own customers taught
    them; A and B have the same FAQ, and only A's customer picked."""
    services = offering
    a = await seed.organisation(services, name="A")
    b = await seed.organisation(services, name="B", origin="https://b.example.com")
    before_a = await services.knowledge.search(a.tenant_id, UNSURE, limit=3)
    before_b = await services.knowledge.search(b.tenant_id, UNSURE, limit=3)

    await pick(services, a, await offer(services, a), "1")

    after_a = await services.knowledge.search(a.tenant_id, UNSURE, limit=3)
    after_b = await services.knowledge.search(b.tenant_id, UNSURE, limit=3)
    assert after_a[0].entry.question == "How do I reset my password?"
    assert after_a[0].confidence > 0.9 > before_a[0].confidence
    assert [(h.entry.question, h.score, h.confidence) for h in after_b] == [
        (h.entry.question, h.score, h.confidence) for h in before_b
    ]
    assert await services.knowledge.learned.of_entry(b.tenant_id, after_a[0].entry.question) == []
    b_offer = await offer(services, b, user="b1")
    assert len(b_offer.choices) == 2  # B's assistant is as unsure as ever


async def test_a_removed_phrasing_no_longer_finds_its_entry_and_the_removal_is_audited(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)
    before = await services.knowledge.search(org.tenant_id, UNSURE, limit=3)
    await pick(services, org, await offer(services, org), "1")
    (learned,) = await services.knowledge.learned.of_entry(
        org.tenant_id, "How do I reset my password?"
    )

    await services.knowledge.learned.remove(org.tenant_id, learned.phrasing_id, actor=seed.ACTOR)

    after = await services.knowledge.search(org.tenant_id, UNSURE, limit=3)
    assert [(h.entry.entry_id, h.confidence) for h in after] == [
        (h.entry.entry_id, h.confidence) for h in before
    ]
    exported = [e async for e in services.audit.export(org.tenant_id)]
    assert exported[-1]["action"] == "knowledge.learned_phrasing_removed"
    assert exported[-1]["data"]["phrasing_id"] == learned.phrasing_id  # type: ignore[index]


async def test_a_learned_phrasing_outlives_a_reupload_and_can_be_kept_as_a_written_one(
    offering: Services,
) -> None:
    services = offering
    org = await seed.organisation(services)
    await pick(services, org, await offer(services, org), "1")
    edited = seed.SAMPLE_FAQ.replace(b"then follow the link.", b"then open the link we mail.")
    await services.knowledge.import_faq_csv(org.tenant_id, edited, actor=seed.ACTOR)
    question = "How do I reset my password?"
    (learned,) = await services.knowledge.learned.of_entry(org.tenant_id, question)

    report = await services.knowledge.learned.keep(
        org.tenant_id, learned.phrasing_id, actor=seed.ACTOR
    )

    assert report.published
    assert await services.knowledge.learned.of_entry(org.tenant_id, question) == []
    (entry,) = [
        e for e in await services.knowledge.faq_entries(org.tenant_id) if e.question == question
    ]
    assert entry.phrasings == (UNSURE,)
    assert "open the link we mail" in entry.answer
    (hit, *_) = await services.knowledge.search(org.tenant_id, UNSURE, limit=3)
    assert hit.entry.question == question
    assert hit.confidence > 0.9


async def test_a_pick_answers_and_teaches_the_question_the_offer_was_for(
    offering: Services,
) -> None:
    """A customer who wrote again before the offer came picks for the question it answered."""
    services = offering
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    asked = [
        await services.chat.post_user_message(
            org.tenant_id, conversation.conversation_id, client_id=secrets.token_hex(8), text=text
        )
        for text in (UNSURE, "are you there?")
    ]
    offered = await services.assistant.answer(asked[0].message, Subject(org.tenant_id, "u1", {}))
    assert offered is not None
    assert offered.choices

    await pick(services, org, offered, "1")

    (learned,) = await services.knowledge.learned.of_entry(
        org.tenant_id, "How do I reset my password?"
    )
    assert learned.text == UNSURE
