"""Group commit: messages arriving together are written together, and each still meets its own
fate (its number, its duplicate, its missing conversation)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from parlour.chat.batch import DirectMessageBatch
from parlour.chat.models import Author, Citation, Message
from parlour.errors import NotFound
from parlour.services import Services
from parlour.storage.types import utcnow
from tests.support import seed


@contextmanager
def counting_commits(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Transactions committed through SQLAlchemy, and on SQLite's direct writer."""
    commits = [0]

    def count(_conn: Any) -> None:
        commits[0] += 1

    direct = services.db.direct
    if direct is not None:
        run = direct.run

        async def counted(work: Callable[[sqlite3.Connection], object]) -> object:
            result = await run(work)
            commits[0] += 1
            return result

        monkeypatch.setattr(direct, "run", counted)
    engine = services.db.engine.sync_engine
    event.listen(engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", count)


async def test_messages_posted_together_share_a_transaction_and_get_gap_free_numbers(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = [await seed.organisation(backend, faq=None) for _ in range(2)]
    conversations = [
        await backend.chat.open_conversation(org.tenant_id, f"u{i}")
        for org in tenants
        for i in range(5)
    ]
    with counting_commits(backend, monkeypatch) as commits:
        posted = await asyncio.gather(
            *(
                backend.chat.post(c.tenant_id, c.conversation_id, author=Author.AGENT, body=f"m{n}")
                for n in range(20)
                for c in conversations
            )
        )
    assert 0 < commits[0] < 5  # 200 messages, not 200 transactions
    for conversation in conversations:
        mine = [m for m in posted if m.conversation_id == conversation.conversation_id]
        assert [m.seq for m in mine] == list(range(1, 21))
        assert [m.body for m in mine] == [f"m{n}" for n in range(20)]
        stored = await backend.chat.history(
            conversation.tenant_id, conversation.conversation_id, after_seq=0, limit=100
        )
        assert stored == mine


async def test_a_message_reads_back_exactly_as_it_was_written(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")
    written = await backend.chat.post(
        org.tenant_id,
        conversation.conversation_id,
        author=Author.ASSISTANT,
        body="Ouvert en semaine, «sauf fériés»\nFermé le dimanche",
        citations=[Citation(id="k1", title="Opening hours")],
        actions=["handoff"],
    )
    (read,) = await backend.chat.history(
        org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
    )
    assert read == written
    assert read.created_at.tzinfo is not None


async def test_a_retry_in_a_batch_is_answered_with_the_stored_message_and_spares_the_rest(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")
    appended = await backend.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="retried", text="hello"
    )
    first = appended.message
    results = await asyncio.gather(
        *(
            backend.chat.post_user_message(
                org.tenant_id, conversation.conversation_id, client_id=client_id, text="hello"
            )
            for client_id in ["a", "b", "retried", "c"]
        )
    )
    assert [r.created for r in results] == [True, True, False, True]
    assert results[2].message == first
    stored = await backend.chat.history(
        org.tenant_id, conversation.conversation_id, after_seq=0, limit=100
    )
    assert [m.client_id for m in stored] == ["retried", "a", "b", "c"]
    assert [m.seq for m in stored] == [1, 2, 3, 4]


async def test_a_message_for_a_missing_conversation_fails_alone(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")
    good, missing = await asyncio.gather(
        backend.chat.post(
            org.tenant_id, conversation.conversation_id, author=Author.AGENT, body="kept"
        ),
        backend.chat.post(org.tenant_id, "no-such-conversation", author=Author.AGENT, body="x"),
        return_exceptions=True,
    )
    assert not isinstance(good, BaseException)
    assert good.seq == 1
    assert isinstance(missing, NotFound)


async def test_another_tenants_conversation_is_missing_to_the_writer(backend: Services) -> None:
    """T-29: a conversation id under the wrong tenant is not written to."""
    a = await seed.organisation(backend, faq=None)
    b = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(a.tenant_id, "u1")
    with pytest.raises(NotFound):
        await backend.chat.post(
            b.tenant_id, conversation.conversation_id, author=Author.AGENT, body="intruder"
        )
    assert (
        await backend.chat.history(a.tenant_id, conversation.conversation_id, after_seq=0, limit=10)
        == []
    )


async def test_numbers_are_claimed_through_the_primary_key_however_many_conversations(
    services: Services,
) -> None:
    """On SQLite a tenant filter the (tenant, user) index could serve made every batch scan
    all of the tenant's conversations; the claim must find its rows by primary key."""
    org = await seed.organisation(services, faq=None)
    conversations = [
        await services.chat.open_conversation(org.tenant_id, f"u{i}") for i in range(30)
    ]
    # Messages on a file database are written by the direct writer, a claim per conversation.
    claim = DirectMessageBatch(services.db.engine.dialect).claim(
        (org.tenant_id, conversations[0].conversation_id), 1, utcnow()
    )
    async with services.db.read() as conn:
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + claim[0], claim[1])
        plans = [str(row[-1]) for row in rows]
    assert plans
    assert all("sqlite_autoindex_conversations_1" in plan for plan in plans), plans


async def test_a_caller_that_stops_waiting_still_has_its_message_written(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")

    def post(body: str) -> asyncio.Task[Message]:
        return asyncio.create_task(
            backend.chat.post(
                org.tenant_id, conversation.conversation_id, author=Author.AGENT, body=body
            )
        )

    gone = post("first")
    # Runs after the first task's step (its draft queued) and before the write it started.
    asyncio.get_running_loop().call_soon(gone.cancel)
    async with asyncio.timeout(10):
        second = await post("second")
    stored = await backend.chat.history(
        org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
    )
    assert gone.cancelled()
    assert [(m.seq, m.body) for m in stored] == [(1, "first"), (2, "second")]
    assert second.seq == 2
