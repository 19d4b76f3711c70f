"""Hybrid retrieval: dense finds paraphrases that share no words, lexical keeps exact terms, and
rank fusion keeps the best of both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.knowledge.embeddings import shared_minilm
from parlour.knowledge.learned import entry_key, with_learned
from parlour.knowledge.models import FaqEntry
from parlour.knowledge.retrieval import HybridIndex, split_answers
from parlour.services import Services
from tests.support import seed

QUESTIONS = [
    "How do I reset my password?",
    "What are your opening hours?",
    "How do I block my card?",
    "What is the IBAN of my account?",
]


def index() -> HybridIndex:
    entries = [
        FaqEntry("t", f"e{i}", question, f"answer {i}", datetime.now(UTC))
        for i, question in enumerate(QUESTIONS)
    ]
    return HybridIndex(entries, shared_minilm().embed(QUESTIONS))


def ask(hybrid: HybridIndex, query: str) -> str:
    hits = hybrid.search(query, shared_minilm().embed([query])[0], limit=3)
    return hits[0].entry.question


def test_a_paraphrase_without_shared_words_finds_its_entry() -> None:
    assert index().lexical.search("I forgot my login secret") == []
    assert ask(index(), "I forgot my login secret") == "How do I reset my password?"


def test_an_exact_rare_term_still_finds_its_entry() -> None:
    assert ask(index(), "IBAN") == "What is the IBAN of my account?"


def test_an_unrelated_question_gets_low_confidence() -> None:
    hybrid = index()
    query = "Do you sell car insurance?"
    best = hybrid.search(query, shared_minilm().embed([query])[0], limit=1)[0]
    related = hybrid.search(
        "When are you open?", shared_minilm().embed(["When are you open?"])[0], 1
    )
    assert best.confidence < related[0].confidence


async def test_a_new_import_replaces_the_index_a_node_has_cached(services: Services) -> None:
    """T-33 (first cut): entries replaced by an import are gone from retrieval at once, though
    the node had the old index cached."""
    org = await seed.organisation(services)
    assert (await services.knowledge.search(org.tenant_id, "opening hours"))[0].entry.question == (
        "What are your opening hours?"
    )
    await services.knowledge.import_faq_csv(
        org.tenant_id,
        b"question,answer\nWhere is your branch?,On the High Street.\n",
        actor=seed.ACTOR,
    )
    hits = await services.knowledge.search(org.tenant_id, "opening hours", limit=5)
    assert [hit.entry.question for hit in hits] == ["Where is your branch?"]


async def test_a_canary_in_one_tenants_knowledge_never_reaches_another(backend: Services) -> None:
    """T-32: tenant A's canary entry is never among tenant B's retrieval results, for the very
    question it answers, on SQLite and PostgreSQL, lexical and dense alike."""
    canary = "CANARY-A-4d1f9b"
    a = await seed.organisation(
        backend, faq=f"question,answer\nWhat is the vault code?,{canary}\n".encode()
    )
    b = await seed.organisation(backend, origin="https://b.example")
    for query in ["What is the vault code?", "vault code", "combination of the safe"]:
        for hit in await backend.knowledge.search(b.tenant_id, query, limit=50):
            assert hit.entry.tenant_id == b.tenant_id
            assert canary not in hit.entry.answer
    hits = await backend.knowledge.search(a.tenant_id, "combination of the safe")
    assert hits[0].entry.answer == canary  # the dense path is live: a paraphrase finds it


def test_an_entry_scores_as_the_best_of_its_question_and_phrasings() -> None:
    phrased = FaqEntry(
        "t",
        "p",
        "How do I block my card?",
        "Call us.",
        datetime.now(UTC),
        phrasings=("the cash machine swallowed my plastic",),
    )
    plain = FaqEntry("t", "o", "What are your opening hours?", "9 to 5.", datetime.now(UTC))
    model = shared_minilm()
    hybrid = HybridIndex(
        [plain, phrased], [model.embed([plain.question]), model.embed(list(phrased.embedded_texts))]
    )
    query = "the cash machine swallowed my plastic"
    best = hybrid.dense.search(model.embed([query])[0], 2)[0] if hybrid.dense else None
    assert best is not None
    assert best.entry.entry_id == "p"
    assert best.confidence > 0.99  # the phrasing's own vector, not the question's


FAQ = [
    ("How do I reset my password?", "Tap Forgot password, then follow the link we e-mail you."),
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00; chat around the clock."),
    ("How do I block my card?", "Go to Cards and tap Freeze card. If it was stolen, call us."),
    ("How do I update my address?", "Profile, Address; we confirm the change by text message."),
]


def faq_index(*, answers: bool) -> HybridIndex:
    entries = [FaqEntry("t", f"e{i}", q, a, datetime.now(UTC)) for i, (q, a) in enumerate(FAQ)]
    model = shared_minilm()
    texts = [list(e.vector_texts if answers else e.embedded_texts) for e in entries]
    matched, answers = split_answers(entries, [model.embed(t) for t in texts])
    return HybridIndex(entries, matched, answers=answers)


def test_an_faqs_answer_finds_its_entry_when_the_question_alone_does_not() -> None:
    query = "someone stole my wallet"  # the answer speaks of theft; the question does not
    vector = shared_minilm().embed([query])[0]
    [without] = faq_index(answers=False).search(query, vector, 1)
    [with_answer] = faq_index(answers=True).search(query, vector, 1)
    assert without.entry.question != "How do I block my card?"
    assert with_answer.entry.question == "How do I block my card?"


def test_a_question_asked_word_for_word_scores_one_though_its_answer_is_embedded_too() -> None:
    query = "What are your opening hours?"
    [best] = faq_index(answers=True).search(query, shared_minilm().embed([query])[0], 1)
    assert best.entry.question == query
    assert best.confidence == pytest.approx(1.0, abs=1e-4)


def test_entries_stored_before_answers_were_embedded_are_still_found() -> None:
    """Vectors stored by an earlier Parlour have no answer row: such entries score by their
    questions alone, beside entries that have one."""
    entries = [FaqEntry("t", f"e{i}", q, a, datetime.now(UTC)) for i, (q, a) in enumerate(FAQ)]
    model = shared_minilm()
    vectors = [
        model.embed(list(e.embedded_texts if i % 2 else e.vector_texts))
        for i, e in enumerate(entries)
    ]
    matched, answers = split_answers(entries, vectors)
    hybrid = HybridIndex(entries, matched, answers=answers)
    for question, _ in FAQ:
        [best] = hybrid.search(question, model.embed([question])[0], 1)
        assert best.entry.question == question


async def test_a_learned_phrasing_joins_its_entrys_texts_and_is_never_taken_for_its_answer(
    services: Services,
) -> None:
    org = await seed.organisation(services)
    entries = await services.knowledge.faq_entries(org.tenant_id)
    cipher = await services.vault.cipher(org.tenant_id)
    model = shared_minilm()
    stored = [model.embed(list(e.vector_texts)) for e in entries]  # as stored: the answer last
    phrase = "locked out of the app"
    password = "How do I reset my password?"
    learned = {entry_key(cipher, password): [(phrase, model.embed([phrase]))]}
    matched, answers = split_answers(entries, stored)
    taught, vectors = with_learned(cipher, entries, matched, learned)
    hybrid = HybridIndex(taught, vectors, answers=answers)

    [hit] = hybrid.search(phrase, model.embed([phrase])[0], 1)
    assert hit.entry.question == password
    assert hit.confidence == pytest.approx(1.0, abs=1e-4)  # the phrasing's own vector
    answer = next(e.answer for e in entries if e.question == password)
    [by_answer] = hybrid.search(answer, model.embed([answer])[0], 1)
    assert by_answer.entry.question == password
    assert by_answer.confidence < 0.95  # the answer lifts its entry; it is not a question
