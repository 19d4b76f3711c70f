"""Thumbs on answers (assistant/feedback.py) on both backends: a thumbs down sends the question
the answer was for to the knowledge gaps, masked and sealed like an abstention's, marked
"answered but unhelpful"; a thumbs up does not, and an abstention's question is kept once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from parlour.assistant.feedback import FeedbackGiven, NotAnAnswer
from parlour.knowledge.models import GapKind
from parlour.services import Services
from parlour.storage.tables import unanswered_questions
from tests.support import seed
from tests.support.assistants import ask

WEEK = timedelta(days=7)


async def test_a_thumbs_down_sends_its_question_to_the_gaps_masked_and_marked_unhelpful(
    backend: Services,
) -> None:
    """T-103: analysts read the gaps without the right to read conversations; an unhelpful
    answer's question is masked and sealed before it is kept, as an abstention's is."""
    services = backend
    org = await seed.organisation(services)
    asked = "How can I reset my password? Mail me at jo@example.com"
    answer = await ask(services, services.assistant, org, asked, user="unhappy")
    liked = await ask(services, services.assistant, org, "What are your opening hours?")
    assert answer is not None
    assert liked is not None
    feedback = services.assistant.feedback

    await feedback.give(org.tenant_id, answer.conversation_id, answer.message_id, "down")
    await feedback.give(org.tenant_id, liked.conversation_id, liked.message_id, "up")

    now = services.clock()
    report = await services.knowledge.gaps.clusters(org.tenant_id, now - WEEK, now + WEEK)
    (cluster,) = report.clusters  # the thumbs up's question is no gap
    assert cluster.label.question == "How can I reset my password? Mail me at [email]"
    assert cluster.label.kind is GapKind.UNHELPFUL
    assert cluster.unhelpful == 1
    assert cluster.label.conversation_id == answer.conversation_id
    async with services.db.read(org.tenant_id) as conn:
        (sealed,) = (await conn.execute(select(unanswered_questions.c.question_sealed))).one()
    assert b"reset my password" not in sealed  # sealed, as an abstention's


async def test_an_abstentions_question_thumbed_down_is_kept_once_as_abstained(
    backend: Services,
) -> None:
    services = backend
    org = await seed.organisation(services)
    answer = await ask(services, services.assistant, org, "Do you sell car insurance?")
    assert answer is not None

    await services.assistant.feedback.give(
        org.tenant_id, answer.conversation_id, answer.message_id, "down"
    )

    now = services.clock()
    report = await services.knowledge.gaps.clusters(org.tenant_id, now - WEEK, now + WEEK)
    (cluster,) = report.clusters
    assert (cluster.count, cluster.unhelpful, cluster.label.kind) == (1, 0, GapKind.ABSTAINED)


async def test_thumbs_are_for_the_assistants_answers_of_the_conversation_once(
    backend: Services,
) -> None:
    services = backend
    org = await seed.organisation(services)
    answer = await ask(services, services.assistant, org, "What are your opening hours?")
    other = await services.chat.open_conversation(org.tenant_id, "someone-else")
    assert answer is not None
    feedback = services.assistant.feedback

    with pytest.raises(NotAnAnswer):
        await feedback.give(org.tenant_id, other.conversation_id, answer.message_id, "up")
    await feedback.give(org.tenant_id, answer.conversation_id, answer.message_id, "up")
    with pytest.raises(FeedbackGiven):
        await feedback.give(org.tenant_id, answer.conversation_id, answer.message_id, "down")
    now = services.clock()
    report = await services.knowledge.gaps.clusters(org.tenant_id, now - WEEK, now + WEEK)
    assert report.clusters == ()  # the changed mind did not count
