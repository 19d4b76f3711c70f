"""Private notes, as a service on both backends: written by a member on their organisation's
conversation, read back oldest first, sealed at rest, audited with who wrote it and never what;
kept apart from the conversation's messages (T-99)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from parlour.chat.desk_events import NoteAdded
from parlour.crypto.vault import TenantCipher
from parlour.errors import InvalidInput, NotFound
from parlour.services import Services
from parlour.storage.tables import canned_replies, conversation_notes
from tests.chat.test_lifecycle import member, new_conversation
from tests.support.dump import every_cell
from tests.support.seed import ACTOR


async def test_a_note_is_kept_sealed_apart_from_the_messages_and_audited_without_its_text(
    backend: Services,
) -> None:
    """T-99: the note is listed for the conversation, its text is in no cell of the database,
    the conversation's messages and numbering do not change, and the audit names the writer."""
    tenant = await backend.tenants.create("Notes Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    await backend.chat.post_user_message(
        tenant.tenant_id, conversation_id, client_id="c1", text="My card is lost."
    )

    first = await backend.notes.add(
        tenant.tenant_id, conversation_id, "  Customer sounds worried NOTE1175  ", actor=ada
    )
    second = await backend.notes.add(tenant.tenant_id, conversation_id, "Card blocked.", actor=ada)
    assert (first.body, first.author_id) == ("Customer sounds worried NOTE1175", ada.id)
    listed = await backend.notes.latest(tenant.tenant_id, conversation_id)
    assert [n.note_id for n in listed] == [first.note_id, second.note_id]
    assert [
        n.note_id for n in await backend.notes.latest(tenant.tenant_id, conversation_id, limit=1)
    ] == [second.note_id]

    history = await backend.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=50)
    assert [m.body for m in history] == ["My card is lost."]
    conversation = await backend.chat.get_conversation(tenant.tenant_id, conversation_id)
    assert conversation.last_seq == 1
    assert "NOTE1175" not in await every_cell(backend)

    audited = await backend.audit.recent(tenant.tenant_id, limit=1)
    assert audited[0]["action"] == "conversation.note_written"
    assert audited[0]["actor"] == {"type": "account", "id": ada.id}
    assert "NOTE1175" not in json.dumps(audited)


async def test_t99_members_hear_of_a_new_note_on_the_desk_channel_by_id_and_the_customer_not_at_all(
    backend: Services,
) -> None:
    """The desk's channel (members only) names the note; the conversation's own channel, which
    the customer's sockets hear, carries nothing."""
    tenant = await backend.tenants.create("Notes Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    desk: list[object] = []
    customer: list[object] = []
    broker = backend.chat.broker
    stop_desk = await broker.listen_desk(tenant.tenant_id, desk.append)
    stop_customer = await broker.listen(tenant.tenant_id, conversation_id, customer.append)
    try:
        note = await backend.notes.add(tenant.tenant_id, conversation_id, "VIP", actor=ada)
        await broker.flush()
    finally:
        stop_desk()
        stop_customer()
    assert desk == [NoteAdded(conversation_id, note.note_id)]
    assert customer == []


async def test_another_organisations_conversation_has_no_notes_to_read_or_write(
    backend: Services,
) -> None:
    """T-99, T-98: naming B's conversation under A is not found, for writing and reading, and
    leaves B's conversation without a note."""
    a = await backend.tenants.create("A Bank", actor=ACTOR)
    b = await backend.tenants.create("B Bank", actor=ACTOR)
    ada = await member(backend, a.tenant_id)
    theirs = await new_conversation(backend, b.tenant_id)
    with pytest.raises(NotFound):
        await backend.notes.add(a.tenant_id, theirs, "Hello from the wrong bank.", actor=ada)
    with pytest.raises(NotFound):
        await backend.notes.latest(a.tenant_id, theirs)
    assert await backend.notes.latest(b.tenant_id, theirs) == []
    async with backend.db.read(a.tenant_id, b.tenant_id) as conn:
        assert (await conn.execute(select(conversation_notes))).all() == []


async def test_a_note_is_held_to_the_rule_for_messages(services: Services) -> None:
    tenant = await services.tenants.create("Rules Bank", actor=ACTOR)
    ada = await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    for text in ("   ", "bell\x07", "x" * 5000):
        with pytest.raises(InvalidInput):
            await services.notes.add(tenant.tenant_id, conversation_id, text, actor=ada)
    assert await services.notes.latest(tenant.tenant_id, conversation_id) == []


async def test_notes_and_canned_replies_move_to_a_new_data_key_and_still_read(
    services: Services,
) -> None:
    """T-51: rotating the organisation's data key reseals notes and canned replies like every
    sealed column, and they read back the same."""
    tenant = await services.tenants.create("Rotating Bank", actor=ACTOR)
    t = tenant.tenant_id
    ada = await member(services, t)
    conversation_id = await new_conversation(services, t)
    await services.notes.add(t, conversation_id, "Prefers e-mail.", actor=ada)
    await services.canned_replies.create(t, "hours", "9 to 5.", actor=ACTOR)
    version, _moved = await services.tenants.rotate_data_key(t, actor=ACTOR)
    async with services.db.read(t) as conn:
        sealed = [
            *(await conn.execute(select(conversation_notes.c.body_sealed))).scalars(),
            *(await conn.execute(select(canned_replies.c.body_sealed))).scalars(),
        ]
    assert [TenantCipher.version_of(s) for s in sealed] == [version, version]
    assert [n.body for n in await services.notes.latest(t, conversation_id)] == ["Prefers e-mail."]
    assert [r.body for r in await services.canned_replies.all(t)] == ["9 to 5."]
