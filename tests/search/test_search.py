"""Search across an organisation's conversations: by each filter, by words through the blind
index (written by the indexer, a round behind the chat), bot-only conversations included, and
never across organisations (T-98), on both backends."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from parlour.chat.models import Author, ConversationStatus
from parlour.errors import InvalidInput
from parlour.search import indexer as indexer_module
from parlour.search.indexer import earlier_id
from parlour.search.service import Query, snippet
from parlour.search.terms import normalise, words
from parlour.services import Services
from parlour.storage.ids import time_ordered_id
from parlour.storage.tables import search_terms
from tests.chat.test_lifecycle import member
from tests.support.seed import ACTOR


async def conversation(services: Services, tenant_id: str, *said: str, user: str = "") -> str:
    """A conversation of `user` (a new customer by default) where the customer said `said`."""
    opened = await services.chat.open_conversation(
        tenant_id, user or f"customer-{secrets.token_hex(4)}"
    )
    for text in said:
        await services.chat.post_user_message(
            tenant_id, opened.conversation_id, client_id=secrets.token_hex(8), text=text
        )
    return opened.conversation_id


async def found(services: Services, tenant_id: str, **query: object) -> list[str]:
    return [
        f.conversation.conversation_id
        for f in await services.search.search(tenant_id, Query(**query))  # type: ignore[arg-type]
    ]


async def test_words_find_the_conversations_holding_all_of_them_after_the_indexers_round(
    backend: Services,
) -> None:
    services = backend
    tenant = await services.tenants.create("Search Bank", actor=ACTOR)
    org = tenant.tenant_id
    card = await conversation(services, org, "My new card has not arrived yet")
    cafe = await conversation(services, org, "Le CAFÉ near the branch took my card twice")
    other = await conversation(services, org, "How do I change my address?")
    # Searchable only once the indexer has been round: it follows the writer off its path.
    assert await found(services, org, text="card") == []
    assert await services.search_indexer.index_round() >= 3
    assert set(await found(services, org, text="card")) == {card, cafe}
    assert await found(services, org, text="CARD arrived") == [card]
    # Accents and case fold away, in the message and in the search.
    assert await found(services, org, text="cafe") == [cafe]
    assert await found(services, org, text="address") == [other]
    assert await found(services, org, text="card address") == []
    assert await found(services, org, text="addr") == []  # whole words only: no prefixes
    # The snippet is the matching message's text, opened for the member who searched.
    results = await services.search.search(org, Query(text="twice"))
    assert [r.snippet for r in results] == ["Le CAFÉ near the branch took my card twice"]
    # Newer messages are found as the writer tells the indexer of them.
    later = await conversation(services, org, "Is the card arriving today?")
    assert await services.search_indexer.index_round() == 1
    assert (await found(services, org, text="card"))[0] == later


async def test_each_filter_narrows_the_search_and_bot_only_conversations_are_found(
    backend: Services,
) -> None:
    services = backend
    tenant = await services.tenants.create("Filter Bank", actor=ACTOR)
    org = tenant.tenant_id
    ada = await member(services, org)
    with_bot = await conversation(services, org, "refund please", user="alice")
    await services.chat.post(
        org, with_bot, author=Author.ASSISTANT, body="Refunds take five working days."
    )
    queued = await conversation(services, org, "refund for my order", user="bob")
    await services.chat.request_handoff(org, queued)
    taken = await conversation(services, org, "refund of the fee", user="carol")
    await services.chat.request_handoff(org, taken)
    await services.desk.take(org, taken, actor=ada)
    await services.search_indexer.index_round()

    assert set(await found(services, org, text="refund")) == {with_bot, queued, taken}
    # The assistant's words are indexed too: a conversation the assistant alone handled.
    assert await found(services, org, text="working days") == [with_bot]
    assert await found(services, org, status=ConversationStatus.BOT) == [with_bot]
    assert await found(services, org, text="refund", status=ConversationStatus.QUEUED) == [queued]
    assert await found(services, org, assignee=ada.id) == [taken]
    assert await found(services, org, text="refund", assignee=ada.id) == [taken]
    assert await found(services, org, end_user_id="bob") == [queued]
    assert await found(services, org, text="refund", end_user_id="alice") == [with_bot]
    # Dates: activity within the range.
    now = services.clock()
    assert len(await found(services, org, since=now - timedelta(hours=1))) == 3
    assert await found(services, org, until=now - timedelta(days=1)) == []
    assert await found(services, org, text="refund", since=now + timedelta(days=1)) == []
    with pytest.raises(InvalidInput):
        await services.search.search(
            org, Query(since=now, until=now - timedelta(days=1), text="refund")
        )
    with pytest.raises(InvalidInput):
        await services.search.search(org, Query(text="the a"))  # nothing left to search for


async def test_t98_an_organisations_search_never_returns_anothers_conversations_for_the_same_words(
    backend: Services,
) -> None:
    """T-98: the same words in two organisations have different tags (each its own index key),
    and a search reads its own organisation's index only."""
    services = backend
    a = (await services.tenants.create("Bank A", actor=ACTOR)).tenant_id
    b = (await services.tenants.create("Bank B", actor=ACTOR)).tenant_id
    theirs_a = await conversation(services, a, "lost passport zeppelin")
    theirs_b = await conversation(services, b, "lost passport zeppelin")
    await services.search_indexer.index_round()
    assert await found(services, a, text="zeppelin passport") == [theirs_a]
    assert await found(services, b, text="zeppelin passport") == [theirs_b]
    async with services.db.read(a, b) as conn:
        rows = await conn.execute(select(search_terms.c.tenant_id, search_terms.c.tag))
        tags: dict[str, set[bytes]] = {}
        for tenant_id, value in rows:
            tags.setdefault(tenant_id, set()).add(bytes(value))
    assert len(tags[a]) == len(tags[b]) == 3  # lost, passport, zeppelin
    assert tags[a].isdisjoint(tags[b])
    cipher_a, cipher_b = await services.vault.cipher(a), await services.vault.cipher(b)
    assert cipher_a.index_key != cipher_b.index_key


async def test_a_message_streamed_under_an_earlier_id_is_indexed_by_the_later_sweep(
    backend: Services,
) -> None:
    """An assistant's answer keeps the id chosen when it began to stream, so it may commit
    below the watermark: the next organisation-wide sweep, reading further back, finds it."""
    services = backend
    org = (await services.tenants.create("Late Bank", actor=ACTOR)).tenant_id
    early_id = time_ordered_id()
    conversation_id = await conversation(services, org, "first words")
    await services.search_indexer.index_round()
    await conversation(services, org, "second words")
    await services.search_indexer.index_round()
    await services.chat.post(
        org, conversation_id, author=Author.ASSISTANT, body="a late gondola", message_id=early_id
    )
    indexer = services.search_indexer
    await indexer.index_tenant(org, margin=0)  # from the watermark itself: not found
    assert await found(services, org, text="gondola") == []
    await indexer.index_tenant(org, margin=900)
    assert await found(services, org, text="gondola") == [conversation_id]


def test_words_are_normalised_alike_in_messages_and_searches() -> None:
    full_width_card = "".join(chr(0xFF00 + ord(c) - 0x20) for c in "Card")
    said = f"{full_width_card} déjà-vu STRASSE Straße the a 7"
    assert words(said) == ["card", "deja", "vu", "strasse"]
    assert normalise("ﬁne") == "fine"
    assert snippet("x" * 300 + " refund " + "y" * 300, ["refund"]).count("refund") == 1


def test_an_earlier_id_is_below_every_id_of_that_moment() -> None:
    now = time_ordered_id()
    assert earlier_id(now, 0) <= now
    assert earlier_id(now, 60) < earlier_id(now, 0)
    assert earlier_id("not-a-uuid", 60) == ""


async def test_a_round_that_runs_out_of_its_share_goes_on_from_there_in_the_next(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round reads a bounded share of an organisation's messages; the next goes on where it
    stopped (not from the watermark again), so a long backlog or sweep ends."""
    monkeypatch.setattr(indexer_module, "PAGE", 2)
    monkeypatch.setattr(indexer_module, "MAX_PAGES", 1)
    services = backend
    org = (await services.tenants.create("Backlog Bank", actor=ACTOR)).tenant_id
    conversation_id = await conversation(
        services, org, "one walrus", "two walrus", "three walrus", "four walrus", "five walrus"
    )
    # Other organisations' backlogs (PostgreSQL's database is shared by the run) go first.
    while await services.search_indexer.index_round():
        pass
    assert await found(services, org, text="five walrus") == [conversation_id]
    for said in ("one", "two", "three", "four"):
        assert await found(services, org, text=f"{said} walrus") == [conversation_id]
