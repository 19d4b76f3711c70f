"""Learned phrasings in the index (knowledge/learned.py): an entry is found by the words of what
its customers taught it even with embeddings off, and a phrasing names its entry by a key that
is the organisation's own (a keyed hash of the entry's question, whatever its case and spaces)."""

from __future__ import annotations

from parlour.knowledge.learned import entry_key, with_learned
from parlour.knowledge.retrieval import HybridIndex
from parlour.services import Services
from tests.support import seed

PASSWORD_ENTRY = "How do I reset my password?"


async def test_a_learned_phrasing_finds_its_entry_by_its_words_without_embeddings(
    services: Services,
) -> None:
    org = await seed.organisation(services)
    entries = await services.knowledge.faq_entries(org.tenant_id)
    cipher = await services.vault.cipher(org.tenant_id)
    learned = {entry_key(cipher, PASSWORD_ENTRY): [("locked out of the app", None)]}

    taught, vectors = with_learned(cipher, entries, None, learned)

    assert vectors is None
    assert [e.learned for e in taught if e.question == PASSWORD_ENTRY] == [
        ("locked out of the app",)
    ]
    assert HybridIndex(entries, None).search("locked out of the app", None, 3) == []
    (hit, *_) = HybridIndex(taught, None).search("locked out of the app", None, 3)
    assert hit.entry.question == PASSWORD_ENTRY


async def test_an_entrys_key_is_its_organisations_own_whatever_the_case_and_spacing(
    services: Services,
) -> None:
    a = await seed.organisation(services, name="A")
    b = await seed.organisation(services, name="B")
    of_a = await services.vault.cipher(a.tenant_id)
    of_b = await services.vault.cipher(b.tenant_id)

    key = entry_key(of_a, PASSWORD_ENTRY)

    assert entry_key(of_a, "  how do I reset   my PASSWORD? ") == key
    assert entry_key(of_b, PASSWORD_ENTRY) != key
    assert len(key) == 64  # an HMAC-SHA256, in hex
