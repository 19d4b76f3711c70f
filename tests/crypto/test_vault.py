"""Per-tenant envelope encryption: what one tenant sealed, only that tenant opens, only in its
place, and rotation or deletion of keys behaves as promised."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from parlour.crypto.aead import DecryptionFailed
from parlour.crypto.kms import LocalKms
from parlour.crypto.master_key import load_master_key
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.errors import NotFound
from parlour.services import Services, build_services
from parlour.storage.tables import messages, tenant_keys
from tests.conftest import make_settings, new_master_key
from tests.support import seed
from tests.support.clock import SetMonotonic

PLACE = Place("messages", "m1", "body")


async def two_ciphers(services: Services) -> tuple[TenantCipher, TenantCipher]:
    a = await seed.organisation(services, name="A", faq=None)
    b = await seed.organisation(services, name="B", faq=None)
    return await services.vault.cipher(a.tenant_id), await services.vault.cipher(b.tenant_id)


async def test_one_tenants_ciphertext_does_not_open_with_another_tenants_key(
    services: Services,
) -> None:
    """T-49."""
    a, b = await two_ciphers(services)
    sealed = a.seal(b"hello", PLACE)
    assert a.open(sealed, PLACE) == b"hello"
    with pytest.raises(DecryptionFailed):
        b.open(sealed, PLACE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        Place("messages", "m2", "body"),
        Place("messages", "m1", "citations"),
        Place("faq_entries", "m1", "body"),
    ],
    ids=["another row", "another field", "another table"],
)
async def test_a_ciphertext_moved_to_another_place_does_not_open(
    services: Services, elsewhere: Place
) -> None:
    """T-49: the associated data binds table, tenant, row and field."""
    a, _ = await two_ciphers(services)
    with pytest.raises(DecryptionFailed):
        a.open(a.seal(b"hello", PLACE), elsewhere)


async def test_a_message_row_copied_to_another_tenant_fails_to_read(services: Services) -> None:
    """T-49, end to end: a database-level copy of a sealed body into tenant B's row."""
    a = await seed.organisation(services, name="A", faq=None)
    b = await seed.organisation(services, name="B", faq=None)
    conv_a = await services.chat.open_conversation(a.tenant_id, "u")
    conv_b = await services.chat.open_conversation(b.tenant_id, "u")
    await services.chat.post_user_message(
        a.tenant_id, conv_a.conversation_id, client_id="1", text="A's secret"
    )
    await services.chat.post_user_message(
        b.tenant_id, conv_b.conversation_id, client_id="1", text="B's note"
    )
    async with services.db.transaction(a.tenant_id, b.tenant_id) as conn:
        stolen = (
            await conn.execute(
                select(messages.c.body_sealed).where(messages.c.tenant_id == a.tenant_id)
            )
        ).scalar_one()
        await conn.execute(
            update(messages).where(messages.c.tenant_id == b.tenant_id).values(body_sealed=stolen)
        )
    with pytest.raises(DecryptionFailed):
        await services.chat.history(b.tenant_id, conv_b.conversation_id, after_seq=0, limit=10)


async def test_ten_thousand_encryptions_never_repeat_a_nonce(services: Services) -> None:
    """T-50: AES-256-GCM with random 96-bit nonces, same key, same plaintext."""
    a, _ = await two_ciphers(services)
    nonces = {a.seal(b"same plaintext", PLACE)[5:17] for _ in range(10_000)}
    assert len(nonces) == 10_000


async def test_after_master_key_rotation_everything_still_reads(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-51: rotating the master key re-wraps data keys; no data is re-encrypted, all of it reads,
    and the old master key is no longer needed."""
    old, new = new_master_key(), new_master_key()
    before = build_services(make_settings(tmp_path, database_url=sqlite_url, master_key=old))
    await before.migrate()
    org = await seed.organisation(before)
    conversation = await before.chat.open_conversation(org.tenant_id, "u")
    await before.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="1", text="kept"
    )
    async with before.db.read() as conn:
        sealed_before = (await conn.execute(select(messages.c.body_sealed))).scalar_one()
    await before.aclose()

    rotating = build_services(
        make_settings(
            tmp_path, database_url=sqlite_url, master_key=new, previous_master_keys=(old,)
        )
    )
    assert await rotating.tenants.rotate_master_key(actor=seed.ACTOR) == 1
    await rotating.aclose()

    after = build_services(make_settings(tmp_path, database_url=sqlite_url, master_key=new))
    try:
        history = await after.chat.history(
            org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
        )
        assert history[0].body == "kept"
        assert len(await after.knowledge.faq_entries(org.tenant_id)) == 3
        assert await seed.token_for(after, org)  # the signing key still unseals
        async with after.db.read() as conn:
            assert (
                await conn.execute(select(messages.c.body_sealed))
            ).scalar_one() == sealed_before
    finally:
        await after.aclose()


async def test_without_the_master_key_nothing_reads(tmp_path: Path, sqlite_url: str) -> None:
    first = build_services(make_settings(tmp_path, database_url=sqlite_url))
    await first.migrate()
    org = await seed.organisation(first)
    await first.aclose()
    stranger = build_services(make_settings(tmp_path, database_url=sqlite_url))
    try:
        with pytest.raises(DecryptionFailed):
            await stranger.knowledge.faq_entries(org.tenant_id)
    finally:
        await stranger.aclose()


async def test_data_key_rotation_keeps_old_ciphertext_readable_then_moves_it(
    services: Services,
) -> None:
    """T-51: a new data key version; values sealed before still open; the sweep re-seals them."""
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u")
    await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="1", text="old"
    )
    await seed.token_for(services, org)  # creates the sealed signing key too
    version, moved = await services.tenants.rotate_data_key(org.tenant_id, actor=seed.ACTOR)
    assert version == 2
    # body, citations, FAQ questions, answers and vectors, signing key
    assert moved == 1 + 1 + 3 * 3 + 1
    history = await services.chat.history(
        org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
    )
    assert history[0].body == "old"
    async with services.db.read(org.tenant_id) as conn:
        sealed = (await conn.execute(select(messages.c.body_sealed))).scalar_one()
    assert TenantCipher.version_of(sealed) == 2


async def test_a_node_seals_with_another_nodes_new_data_key_once_its_cache_lapses(
    services: Services,
) -> None:
    """Each node keeps a tenant's unwrapped keys for `cache_seconds` (counted here on a clock
    the test sets): until then it seals with the key it has, which still opens everywhere."""
    org = await seed.organisation(services, faq=None)
    monotonic = SetMonotonic()
    this_node = Vault(
        services.db,
        LocalKms(load_master_key(services.settings)),
        cache_seconds=60,
        monotonic=monotonic,
    )
    assert (await this_node.cipher(org.tenant_id)).current_version == 1

    await services.tenants.rotate_data_key(org.tenant_id, actor=seed.ACTOR)  # another node
    monotonic.now += 59
    assert (await this_node.cipher(org.tenant_id)).current_version == 1
    monotonic.now += 2
    assert (await this_node.cipher(org.tenant_id)).current_version == 2


async def test_deleting_a_tenant_destroys_its_keys_and_its_ciphertext_stays_unreadable(
    services: Services,
) -> None:
    """T-37: rows and data keys are gone; a copy of a ciphertext (a backup) cannot be opened."""
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u")
    await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="1", text="gone"
    )
    async with services.db.read(org.tenant_id) as conn:
        backup = (await conn.execute(select(messages.c.body_sealed))).scalar_one()
    cipher = await services.vault.cipher(org.tenant_id)
    place = Place(
        "messages",
        (
            await services.chat.history(
                org.tenant_id, conversation.conversation_id, after_seq=0, limit=1
            )
        )[0].message_id,
        "body",
    )
    assert cipher.open(backup, place) == b"gone"

    await services.tenants.delete(org.tenant_id, actor=seed.ACTOR)

    async with services.db.read(org.tenant_id) as conn:
        assert (
            await conn.execute(select(tenant_keys).where(tenant_keys.c.tenant_id == org.tenant_id))
        ).first() is None
        assert (await conn.execute(select(messages))).first() is None
    with pytest.raises(NotFound):
        await services.vault.cipher(org.tenant_id)
    other = await services.vault.cipher(
        (await seed.organisation(services, name="Other", faq=None)).tenant_id
    )
    with pytest.raises(DecryptionFailed):
        other.open(backup, place)
