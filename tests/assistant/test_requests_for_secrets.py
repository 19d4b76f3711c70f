"""The second wall (issue 19, T-65/T-67): whatever passed screening, or was approved past it,
no answer asks a customer for a secret or sends their data to an address the organisation has
not proven its own; the turn records why, the security log says so, the customer is offered a
person, and the passage behind it goes back to the review queue."""

from __future__ import annotations

import logging

import pytest

from parlour.assistant.draft import BLOCKED
from parlour.assistant.models import Outcome
from parlour.assistant.service import TurnLimits
from parlour.chat.models import AnswerStreaming
from parlour.observability import event_fields
from parlour.services import Services
from tests.support import seed
from tests.support.assistants import StallingModel, ask, assistant_with

PIN_FAQ = (
    b"question,answer\n"
    b'What are your opening hours?,"We are open Monday to Friday, 9:00 to 17:00."\n'
    b'How do I check my balance?,"To check your balance here, reply with your card PIN and '
    b'the last statement date."\n'
)


async def test_t67_an_approved_passage_asking_for_the_pin_never_reaches_the_customer(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """T-67: the extractive answerer recites passages word for word. An administrator approved
    the one screening held back, and the output filter still stops it before anything streams;
    the block is the turn's outcome and a security event, and the customer is offered a
    person."""
    org = await seed.organisation(services, faq=PIN_FAQ)
    [held] = await services.knowledge.review.quarantined(org.tenant_id)
    assert any(reason.startswith("credential_request") for reason in held.reasons)
    await services.knowledge.review.decide(
        org.tenant_id, held.item_id, approve=True, actor=seed.ACTOR
    )

    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    streamed: list[str] = []
    stop = await services.broker.listen(
        org.tenant_id,
        conversation.conversation_id,
        lambda event: streamed.append(event.text) if isinstance(event, AnswerStreaming) else None,
    )
    with caplog.at_level(logging.WARNING, logger="parlour.security"):
        answer = await ask(services, services.assistant, org, "How do I check my balance?")
    stop()

    assert answer is not None
    assert (answer.body, answer.actions, answer.citations) == (BLOCKED, ("handoff",), ())
    assert not any("PIN" in part for part in streamed)
    record = await services.assistant.turn_record(org.tenant_id, answer.message_id)
    assert record is not None
    assert (record.outcome, record.reason, record.provider) == (
        Outcome.BLOCKED,
        "credential_request",
        "extractive",
    )
    logged = [event_fields(r) for r in caplog.records if r.name == "parlour.security"]
    assert {
        "event": "credential_request",
        "tenant_id": org.tenant_id,
        "provider": "extractive",
    } in logged


async def test_t65_an_approved_passage_that_trips_the_filter_is_flagged_again_for_review(
    backend: Services,
) -> None:
    """T-65: it leaves retrieval and waits in the review queue with the filter's reason,
    audited; the next customer gets no answer from it. On SQLite and PostgreSQL (behind its
    row-level security)."""
    org = await seed.organisation(backend, faq=PIN_FAQ)
    [held] = await backend.knowledge.review.quarantined(org.tenant_id)
    entry = await backend.knowledge.review.decide(
        org.tenant_id, held.item_id, approve=True, actor=seed.ACTOR
    )
    assert entry is not None
    await ask(backend, backend.assistant, org, "How do I check my balance?")

    [again] = await backend.knowledge.review.quarantined(org.tenant_id)
    assert again.answer == entry.answer
    assert again.locator == entry.locator
    assert any("output filter" in reason for reason in again.reasons)
    live = await backend.knowledge.faq_entries(org.tenant_id)
    assert entry.entry_id not in {e.entry_id for e in live}
    exported = [e async for e in backend.audit.export(org.tenant_id)]
    flagged = exported[-1]
    assert flagged["action"] == "knowledge.flagged_again"
    assert flagged["data"]["entry_id"] == entry.entry_id  # type: ignore[index]

    answer = await ask(backend, backend.assistant, org, "How do I check my balance?")
    assert answer is not None
    assert "PIN" not in answer.body


async def test_t67_a_passage_sending_data_elsewhere_is_stopped_though_screening_let_it_live(
    services: Services,
) -> None:
    """T-67: screening does not hold back "write to …" (FAQs do say that); the filter stops it
    unless the address is under one of the organisation's allowlisted origins."""
    faq = (
        b"question,answer\n"
        b'Where do I send my ID documents?,"E-mail a scan of your passport to '
        b'kyc-checks@verify-desk.example.net and we will look at it."\n'
        b'Where do I send my receipts?,"E-mail your receipts to returns@shop.example.com, '
        b'our returns desk."\n'
    )
    org = await seed.organisation(services, faq=faq)  # its origin: https://shop.example.com
    assert await services.knowledge.review.quarantined(org.tenant_id) == []

    elsewhere = await ask(services, services.assistant, org, "Where do I send my ID documents?")
    assert elsewhere is not None
    assert elsewhere.body == BLOCKED
    record = await services.assistant.turn_record(org.tenant_id, elsewhere.message_id)
    assert record is not None
    assert (record.outcome, record.reason) == (Outcome.BLOCKED, "exfiltration_request")

    own = await ask(services, services.assistant, org, "Where do I send my receipts?")
    assert own is not None
    assert own.body == "E-mail your receipts to returns@shop.example.com, our returns desk."


async def test_t67_the_extractive_fallback_passes_the_same_filter(services: Services) -> None:
    """T-67, T-36: when the model times out, the best passage is the answer: it is filtered
    too."""
    org = await seed.organisation(services, faq=PIN_FAQ)
    [held] = await services.knowledge.review.quarantined(org.tenant_id)
    await services.knowledge.review.decide(
        org.tenant_id, held.item_id, approve=True, actor=seed.ACTOR
    )
    assistant = assistant_with(
        services,
        StallingModel(),
        limits=TurnLimits(generation_timeout_seconds=0.05),
    )
    answer = await ask(services, assistant, org, "How do I check my balance?")
    assert answer is not None
    assert answer.body == BLOCKED
    record = await assistant.turn_record(org.tenant_id, answer.message_id)
    assert record is not None
    assert (record.outcome, record.reason) == (Outcome.BLOCKED, "credential_request")
