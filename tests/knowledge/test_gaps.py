"""Knowledge gaps: the questions the assistant could not answer, kept sealed and bounded, and
grouped by meaning, largest group first."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from parlour.crypto.vault import Place
from parlour.knowledge.embeddings import shared_minilm
from parlour.knowledge.gaps import KnowledgeGaps
from parlour.services import Services
from parlour.storage.tables import unanswered_questions
from tests.support import seed
from tests.support.assistants import ask
from tests.support.clock import SetClock

# Written for this test: three needs, asked four, two and one times in different words.
CARD_NOT_ARRIVED = [
    "My new card still hasn't arrived, where is it?",
    "When will my card be delivered?",
    "I ordered a card two weeks ago and it has not come yet",
    "How long does it take for a new card to arrive?",
]
REFUND = [
    "How do I get my money back for a cancelled order?",
    "Can I get a refund for my order?",
]
PETS = ["Can I bring my dog into the branch?"]
WEEK = timedelta(days=7)


def gaps_on(
    services: Services, clock: SetClock, *, embeddings: bool = True, **bounds: object
) -> KnowledgeGaps:
    return KnowledgeGaps(
        services.db,
        services.vault,
        embedder=shared_minilm() if embeddings else None,
        clock=clock,
        **bounds,  # type: ignore[arg-type]
    )


async def record_all(
    gaps: KnowledgeGaps, clock: SetClock, tenant_id: str, texts: list[str]
) -> None:
    for number, text in enumerate(texts):
        clock.advance(minutes=1)
        await gaps.record(tenant_id, f"q{clock.now.timestamp():.0f}-{number}", "c1", text)


async def test_a_question_the_assistant_could_not_answer_is_kept_with_retrievals_embedding(
    services: Services,
) -> None:
    org = await seed.organisation(services)
    asked = "Do you sell car insurance?"
    answer = await ask(services, services.assistant, org, asked)
    await ask(services, services.assistant, org, "What are your opening hours?")  # answered
    assert answer is not None
    now = services.clock()
    report = await services.knowledge.gaps.clusters(org.tenant_id, now - WEEK, now + WEEK)
    assert report.questions == 1
    (cluster,) = report.clusters
    assert cluster.count == 1
    assert cluster.label.question == asked
    history = await services.chat.history(
        org.tenant_id, answer.conversation_id, after_seq=0, limit=5
    )
    assert cluster.label.question_id == history[0].message_id  # the customer's message
    async with services.db.read(org.tenant_id) as conn:
        row = (await conn.execute(select(unanswered_questions))).one()
    assert row.embedding_model == shared_minilm().model_id
    assert asked.encode() not in row.question_sealed
    # Retrieval's embedding of the question, kept sealed and bound to its row.
    cipher = await services.vault.cipher(org.tenant_id)
    raw = cipher.open(row.vector_sealed, Place("unanswered_questions", row.question_id, "vector"))
    expected = shared_minilm().embed([asked])[0]
    assert np.allclose(np.frombuffer(raw, dtype="<f4"), expected, atol=1e-5)


async def test_an_organisation_keeps_only_its_newest_questions_up_to_the_cap(
    services: Services,
) -> None:
    """Pruning runs at the first question and then every `prune_every`th: the kept questions
    never pass the cap by `prune_every` or more, and after a pruning are the newest."""
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False, max_per_tenant=3, prune_every=2)
    asked = ["parking?", "refunds?", "dogs?", "gift cards?", "opening hours?", "loans?", "fx?"]
    kept = []
    for text in asked:
        await record_all(gaps, clock, org.tenant_id, [text])
        async with services.db.read(org.tenant_id) as conn:
            kept.append(await conn.scalar(select(func.count()).select_from(unanswered_questions)))
    assert kept == [1, 2, 3, 4, 3, 4, 3]
    report = await gaps.clusters(org.tenant_id, clock.now - WEEK, clock.now + WEEK)
    assert {c.label.question for c in report.clusters} == set(asked[-3:])


async def test_questions_older_than_the_retention_are_forgotten(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False, retention=timedelta(days=90), prune_every=1)
    await record_all(gaps, clock, org.tenant_id, ["an old question about parking"])
    clock.advance(days=91)
    await record_all(gaps, clock, org.tenant_id, ["a new question about opening times"])
    async with services.db.read(org.tenant_id) as conn:
        left = await conn.scalar(select(func.count()).select_from(unanswered_questions))
    assert left == 1


async def test_a_report_never_shows_a_question_older_than_the_retention_not_yet_pruned(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False, retention=timedelta(days=90))
    await record_all(gaps, clock, org.tenant_id, ["an old question about parking"])
    clock.advance(days=91)
    await record_all(gaps, clock, org.tenant_id, ["a new question about opening times"])
    report = await gaps.clusters(org.tenant_id, clock.now - timedelta(days=365), clock.now + WEEK)
    assert report.questions == 1
    assert [c.label.question for c in report.clusters] == ["a new question about opening times"]


async def test_t103_card_numbers_secrets_addresses_and_phones_are_masked_before_keeping(
    services: Services,
) -> None:
    """T-103: analysts read the gaps without the right to read conversations; what a customer
    pasted into an unanswered question (a card number, an e-mail, a phone number, a key) is
    masked before it is kept, the rest of the question grouped as usual."""
    org = await seed.organisation(services)
    asked = (
        "Do you sell car insurance? I'd pay with 4111 1111 1111 1111; mail jo@example.com or"
        " call +44 20 7946 0958, my key is sk-abcdefghijklmnopqrstuvwx"
    )
    answer = await ask(services, services.assistant, org, asked)
    assert answer is not None
    now = services.clock()
    report = await services.knowledge.gaps.clusters(org.tenant_id, now - WEEK, now + WEEK)
    (cluster,) = report.clusters
    assert cluster.label.question == (
        "Do you sell car insurance? I'd pay with [card]; mail [email] or"
        " call [phone], my key is [secret]"
    )
    opened = await services.knowledge.gaps.question(org.tenant_id, cluster.label.question_id)
    assert opened is not None
    assert opened.question == cluster.label.question
    # The vector kept is the masked text's, not retrieval's of what the customer wrote.
    async with services.db.read(org.tenant_id) as conn:
        row = (await conn.execute(select(unanswered_questions))).one()
    cipher = await services.vault.cipher(org.tenant_id)
    raw = cipher.open(row.vector_sealed, Place("unanswered_questions", row.question_id, "vector"))
    expected = shared_minilm().embed([cluster.label.question])[0]
    assert np.allclose(np.frombuffer(raw, dtype="<f4"), expected, atol=1e-5)


async def test_paraphrases_group_together_ranked_by_how_many_ask(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock)
    # Interleaved, as customers ask them.
    asked = [CARD_NOT_ARRIVED[0], REFUND[0], PETS[0], *CARD_NOT_ARRIVED[1:], REFUND[1]]
    await record_all(gaps, clock, org.tenant_id, asked)
    report = await gaps.clusters(org.tenant_id, clock.now - WEEK, clock.now + WEEK)
    assert report.grouped_by == "meaning"
    groups = [sorted(q.question for q in c.samples) for c in report.clusters]
    assert [c.count for c in report.clusters] == [4, 2, 1]
    assert report.clusters[0].label.question in CARD_NOT_ARRIVED
    assert set(groups[0]) <= set(CARD_NOT_ARRIVED)
    assert len(groups[0]) == 3  # three samples
    assert groups[1] == sorted(REFUND)
    assert groups[2] == PETS
    # The samples are the group's newest questions.
    assert report.clusters[0].samples[0].question == CARD_NOT_ARRIVED[-1]


async def test_with_embeddings_off_questions_are_kept_without_a_vector_and_group_by_words(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False)
    asked = [
        "How do I change my delivery address?",
        "Can I change the delivery address of my order?",
        "Do you open on Sundays?",
    ]
    await record_all(gaps, clock, org.tenant_id, asked)
    async with services.db.read(org.tenant_id) as conn:
        vectors = (await conn.execute(select(unanswered_questions.c.vector_sealed))).scalars()
        assert list(vectors) == [None, None, None]
    report = await gaps.clusters(org.tenant_id, clock.now - WEEK, clock.now + WEEK)
    assert report.grouped_by == "words"
    assert [c.count for c in report.clusters] == [2, 1]
    assert {q.question for q in report.clusters[0].samples} == set(asked[:2])


async def test_a_period_reports_only_the_questions_asked_in_it(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False)
    await record_all(gaps, clock, org.tenant_id, ["Is there parking nearby?"])
    start = clock.advance(days=1)
    await record_all(gaps, clock, org.tenant_id, ["Do you deliver abroad?"])
    report = await gaps.clusters(org.tenant_id, start, clock.now + WEEK)
    assert [c.label.question for c in report.clusters] == ["Do you deliver abroad?"]


async def test_the_report_groups_at_most_its_cap_of_the_newest_questions(
    services: Services,
) -> None:
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    gaps = gaps_on(services, clock, embeddings=False, max_grouped=2)
    await record_all(gaps, clock, org.tenant_id, ["first parking", "second refund", "third dogs"])
    report = await gaps.clusters(org.tenant_id, clock.now - WEEK, clock.now + WEEK)
    assert (report.questions, report.considered) == (3, 2)
    assert {c.label.question for c in report.clusters} == {"second refund", "third dogs"}


async def test_questions_kept_while_embeddings_were_off_are_embedded_for_the_report(
    services: Services,
) -> None:
    """Once: the vectors the report computed are kept for the next."""
    org = await seed.organisation(services, faq=None)
    clock = SetClock()
    await record_all(gaps_on(services, clock, embeddings=False), clock, org.tenant_id, REFUND)
    report = await gaps_on(services, clock).clusters(
        org.tenant_id, clock.now - WEEK, clock.now + WEEK
    )
    assert [c.count for c in report.clusters] == [2]
    async with services.db.read(org.tenant_id) as conn:
        rows = (await conn.execute(select(unanswered_questions))).all()
    assert {row.embedding_model for row in rows} == {shared_minilm().model_id}
    cipher = await services.vault.cipher(org.tenant_id)
    for row in rows:
        raw = cipher.open(
            row.vector_sealed, Place("unanswered_questions", row.question_id, "vector")
        )
        question = cipher.open_text(
            row.question_sealed, Place("unanswered_questions", row.question_id, "question")
        )
        expected = shared_minilm().embed([question])[0]
        assert np.allclose(np.frombuffer(raw, dtype="<f4"), expected, atol=1e-5)


async def test_deleting_an_organisation_takes_its_unanswered_questions(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    await services.knowledge.gaps.record(org.tenant_id, "q1", "c1", "Where is my parcel?")
    await services.tenants.delete(org.tenant_id, actor=seed.ACTOR)
    async with services.db.read(org.tenant_id) as conn:
        left = await conn.scalar(select(func.count()).select_from(unanswered_questions))
    assert left == 0
