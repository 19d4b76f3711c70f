"""Assistant turns: grounded answers, honest abstentions, failing closed, quiet after handoff."""

from __future__ import annotations

from collections.abc import AsyncIterator

from parlour.assistant.faq_responder import NO_ANSWER, FaqResponder
from parlour.assistant.responder import ResponderEvent, TurnRequest
from parlour.assistant.service import UNAVAILABLE, AssistantService
from parlour.services import Services
from tests.support import seed


async def ask(services: Services, assistant: AssistantService, org: seed.Organisation, text: str):
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    appended = await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id=text[:30], text=text
    )
    message = appended.message
    return await assistant.answer(message, "u1")


async def test_an_answer_cites_the_faq_entry_it_came_from(services: Services) -> None:
    org = await seed.organisation(services)
    answer = await ask(services, services.assistant, org, "What are your opening hours?")
    assert answer is not None
    assert answer.body == "We are open Monday to Friday, 9:00 to 17:00."
    entry = next(
        e
        for e in await services.knowledge.faq_entries(org.tenant_id)
        if e.question == "What are your opening hours?"
    )
    assert [(c.id, c.title) for c in answer.citations] == [(entry.entry_id, entry.question)]


async def test_one_tenants_faq_never_answers_another_tenant(services: Services) -> None:
    """T-32 (first cut): a canary in A's FAQ is never retrieved for B."""
    canary = "CANARY-A-7f3e"
    a = await seed.organisation(
        services, name="A", faq=f"question,answer\nWhat is the vault code?,{canary}\n".encode()
    )
    b = await seed.organisation(services, name="B")
    answer = await ask(services, services.assistant, b, "What is the vault code?")
    assert answer is not None
    assert canary not in answer.body
    for hit in await services.knowledge.search(b.tenant_id, "vault code", limit=10):
        assert hit.entry.tenant_id == b.tenant_id
        assert canary not in hit.entry.answer
    assert (await services.knowledge.search(a.tenant_id, "vault code"))[0].entry.answer == canary


async def test_without_a_confident_match_the_assistant_says_so_and_offers_a_person(
    services: Services,
) -> None:
    org = await seed.organisation(services)
    answer = await ask(services, services.assistant, org, "Do you sell car insurance?")
    assert answer is not None
    assert answer.body == NO_ANSWER
    assert answer.citations == ()
    assert answer.actions == ("handoff",)


class BrokenResponder:
    async def respond(self, request: TurnRequest) -> AsyncIterator[ResponderEvent]:
        raise RuntimeError("the index is unavailable")
        yield  # pragma: no cover - makes this an async generator


async def test_a_failing_responder_fails_closed(services: Services) -> None:
    """T-36: when retrieval breaks, the user gets "unavailable" and a person, never an
    ungrounded answer."""
    org = await seed.organisation(services)
    assistant = AssistantService(services.chat, BrokenResponder())
    answer = await ask(services, assistant, org, "What are your opening hours?")
    assert answer is not None
    assert answer.body == UNAVAILABLE
    assert answer.actions == ("handoff",)


async def test_the_assistant_stays_quiet_once_a_person_was_asked_for(services: Services) -> None:
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    await services.chat.request_handoff(org.tenant_id, conversation.conversation_id)
    assert await ask(services, services.assistant, org, "What are your opening hours?") is None


async def test_a_stricter_threshold_abstains_more(services: Services) -> None:
    org = await seed.organisation(services)
    strict = AssistantService(services.chat, FaqResponder(services.knowledge, min_confidence=1.01))
    answer = await ask(services, strict, org, "What are your opening hours?")
    assert answer is not None
    assert answer.body == NO_ANSWER
