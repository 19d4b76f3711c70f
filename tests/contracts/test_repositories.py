"""Repository contracts: row-level tenancy and the storage guarantees the chat relies on."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from parlour.chat.models import Author, Message, MessageKind
from parlour.chat.repository import ConversationRepository, MessageRepository, sealed_row
from parlour.keys.repository import ApiKeyRepository, SigningKeyRepository
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.services import Services
from parlour.storage.tables import messages
from parlour.storage.types import utcnow
from parlour.tenants.repository import TenantRepository
from tests.support import seed


async def two_organisations(services: Services) -> tuple[seed.Organisation, seed.Organisation]:
    return (
        await seed.organisation(services, name="A", origin="https://a.example.com"),
        await seed.organisation(services, name="B", origin="https://b.example.com"),
    )


async def test_tenants_are_found_by_id_and_by_public_widget_id(backend: Services) -> None:
    a, _ = await two_organisations(backend)
    async with backend.db.read() as conn:
        repo = TenantRepository(conn)
        assert await repo.get(a.tenant_id) == a.tenant
        assert await repo.find_by_widget_id(a.widget_id) == a.tenant
        assert await repo.find_by_widget_id("wgt_missing") is None


async def test_origins_belong_to_one_tenant(backend: Services) -> None:
    """T-29."""
    a, b = await two_organisations(backend)
    async with backend.db.read(a.tenant_id, b.tenant_id) as conn:
        repo = TenantRepository(conn)
        assert await repo.list_origins(a.tenant_id) == ["https://a.example.com"]
        assert not await repo.has_origin(b.tenant_id, "https://a.example.com")


async def test_api_keys_are_revoked_only_by_their_own_tenant(backend: Services) -> None:
    """T-29: tenant B cannot revoke (or otherwise touch) tenant A's key."""
    a, b = await two_organisations(backend)
    key = (await backend.api_keys.of_tenant(a.tenant_id))[0]
    async with backend.db.transaction() as conn:
        assert not await ApiKeyRepository(conn).revoke(b.tenant_id, key.key_id, utcnow())
    async with backend.db.transaction() as conn:
        assert await ApiKeyRepository(conn).revoke(a.tenant_id, key.key_id, utcnow())
    assert await backend.api_keys.of_tenant(b.tenant_id) != []


async def test_a_signing_key_is_invisible_to_other_tenants(backend: Services) -> None:
    """T-05: key lookup is scoped by tenant, so A's kid means nothing under B."""
    a, b = await two_organisations(backend)
    key = await backend.signing_keys.ensure(a.tenant_id)
    async with backend.db.read() as conn:
        repo = SigningKeyRepository(conn)
        assert await repo.get(b.tenant_id, key.kid) is None
        assert await repo.get(a.tenant_id, key.kid) == key


async def test_conversations_and_messages_are_invisible_to_other_tenants(
    backend: Services,
) -> None:
    """T-29: reads filter on tenant_id; the same ids under another tenant find nothing. (Read
    with both tenants in scope, so on PostgreSQL it is the filter under test, not T-31's wall.)"""
    a, b = await two_organisations(backend)
    conversation = await backend.chat.open_conversation(a.tenant_id, "u1")
    await backend.chat.post_user_message(
        a.tenant_id, conversation.conversation_id, client_id="c1", text="hello"
    )
    cipher_a, cipher_b = (
        await backend.vault.cipher(a.tenant_id),
        await backend.vault.cipher(b.tenant_id),
    )
    async with backend.db.read(a.tenant_id, b.tenant_id) as conn:
        conversations = ConversationRepository(conn)
        as_a, as_b = MessageRepository(conn, cipher_a), MessageRepository(conn, cipher_b)
        assert await conversations.get(b.tenant_id, conversation.conversation_id) is None
        assert await conversations.latest_for_user(b.tenant_id, "u1") is None
        assert await as_b.list_after(b.tenant_id, conversation.conversation_id, 0, 10) == []
        assert await as_b.find_by_client_id(b.tenant_id, conversation.conversation_id, "c1") is None
        assert len(await as_a.list_after(a.tenant_id, conversation.conversation_id, 0, 10)) == 1


async def test_what_is_live_follows_each_tenants_own_published_version(
    backend: Services,
) -> None:
    a, b = await two_organisations(backend)
    cipher_a, cipher_b = (
        await backend.vault.cipher(a.tenant_id),
        await backend.vault.cipher(b.tenant_id),
    )
    async with backend.db.transaction(a.tenant_id) as conn:
        await SourceRepository(conn).set_state(
            a.tenant_id, published=None, embedding_model=None, at=utcnow()
        )
    async with backend.db.read(a.tenant_id, b.tenant_id) as conn:
        assert await FaqRepository(conn, cipher_a).live(a.tenant_id) == []
        assert len(await FaqRepository(conn, cipher_b).live(b.tenant_id)) == 3


async def test_concurrent_writers_get_gap_free_unique_sequence_numbers(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")
    posted = await asyncio.gather(
        *(
            backend.chat.post(
                org.tenant_id, conversation.conversation_id, author=Author.AGENT, body=f"m{i}"
            )
            for i in range(20)
        )
    )
    assert sorted(m.seq for m in posted) == list(range(1, 21))
    history = await backend.chat.history(
        org.tenant_id, conversation.conversation_id, after_seq=0, limit=100
    )
    assert [m.seq for m in history] == list(range(1, 21))


async def test_concurrent_retries_of_one_client_id_store_one_message(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")
    results = await asyncio.gather(
        *(
            backend.chat.post_user_message(
                org.tenant_id, conversation.conversation_id, client_id="same", text="hi"
            )
            for _ in range(5)
        )
    )
    assert len({r.message.message_id for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_the_database_refuses_a_second_message_with_the_same_client_id(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    conversation = await backend.chat.open_conversation(org.tenant_id, "u1")

    def message(seq: int) -> Message:
        return Message(
            tenant_id=org.tenant_id,
            conversation_id=conversation.conversation_id,
            seq=seq,
            message_id=str(uuid.uuid4()),
            kind=MessageKind.TEXT,
            author=Author.USER,
            body="hi",
            client_id="dup",
            created_at=utcnow(),
        )

    cipher = await backend.vault.cipher(org.tenant_id)
    async with backend.db.transaction(org.tenant_id) as conn:
        await conn.execute(insert(messages), [sealed_row(message(1), cipher)])
    with pytest.raises(IntegrityError):
        async with backend.db.transaction(org.tenant_id) as conn:
            await conn.execute(insert(messages), [sealed_row(message(2), cipher)])


async def test_timestamps_come_back_as_aware_utc(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    assert (await backend.tenants.get(org.tenant_id)).created_at.utcoffset() is not None
