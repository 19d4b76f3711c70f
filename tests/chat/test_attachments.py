"""Attachments as a service on both backends (T-102): an agent's file sent with a reply, sealed
at rest, carried by its message with fresh signed links, served only through a link that
verifies for its own conversation and has not expired, held to the limits per conversation and
per organisation, audited without its name or content, and of no use in another organisation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from parlour.chat.attachment_links import InvalidUploadTicket, Kind
from parlour.chat.attachments import AttachmentLimitReached
from parlour.chat.protocol import message_frame
from parlour.chat.service import UnknownAttachment
from parlour.errors import NotFound, PayloadTooLarge, RateLimited
from parlour.services import Services
from parlour.storage.types import utcnow
from tests.chat.test_lifecycle import member, new_conversation
from tests.conftest import migrated_services
from tests.support import files
from tests.support.dump import every_cell
from tests.support.seed import ACTOR


def link_parts(url: str) -> tuple[str, str, Kind, str, str]:
    """(tenant, attachment, kind, exp, sig) of a signed link."""
    parts = urlsplit(url)
    _, _, _, tenant_id, attachment_id, kind = parts.path.split("/")
    query = parse_qs(parts.query)
    return tenant_id, attachment_id, Kind(kind), query["exp"][0], query["sig"][0]


async def test_t102_an_agents_file_goes_with_the_reply_sealed_linked_and_audited_without_its_name(
    backend: Services,
) -> None:
    """T-102: the reply's frame carries the file with fresh signed links; the file, its name
    and its thumbnail are in no cell of the database; the audit names ids, type and size."""
    tenant = await backend.tenants.create("Files Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    image = files.png(text={"Title": "PIXELMARK3321"})
    stored = await backend.attachments.upload(
        tenant.tenant_id, conversation_id, "passport-NAME9917.png", image, actor=ada
    )
    reply = await backend.desk.reply(
        tenant.tenant_id, conversation_id, "", actor=ada, attachment_ids=[stored.attachment_id]
    )
    assert reply.body == ""
    frame = message_frame(reply, backend.chat.links)
    (shown,) = frame["attachments"]
    assert (shown["id"], shown["name"], shown["content_type"], shown["size"]) == (
        stored.attachment_id,
        "passport-NAME9917.png",
        "image/png",
        len(image),
    )
    assert shown["thumbnail_url"] is not None

    served = await backend.attachments.serve(*link_parts(shown["url"]), actor=ACTOR)
    assert (served.data, served.content_type) == (image, "image/png")
    thumbnail = await backend.attachments.serve(*link_parts(shown["thumbnail_url"]), actor=ACTOR)
    assert thumbnail.content_type == "image/png"
    assert thumbnail.data != image

    cells = await every_cell(backend)
    assert "NAME9917" not in cells
    assert "PIXELMARK3321" not in cells
    audited = await backend.audit.recent(tenant.tenant_id, limit=5)
    actions = [a["action"] for a in audited]
    assert "attachment.uploaded" in actions
    assert "attachment.downloaded" in actions
    uploaded = next(a for a in audited if a["action"] == "attachment.uploaded")
    assert uploaded["data"] == {
        "conversation_id": conversation_id,
        "attachment_id": stored.attachment_id,
        "content_type": "image/png",
        "size_bytes": len(image),
        "author": "agent",
    }
    assert "NAME9917" not in json.dumps(audited)


async def test_a_link_for_another_conversations_attachment_or_past_its_expiry_is_not_found(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-102: a link's signature binds the attachment's own conversation, its id, the kind and
    the expiry: another attachment's id under it, the other kind, or the moment after its
    expiry are all NotFound."""
    now = [utcnow()]
    async with migrated_services(tmp_path, sqlite_url, clock=lambda: now[0]) as services:
        tenant = await services.tenants.create("Links Bank", actor=ACTOR)
        ada = await member(services, tenant.tenant_id)
        first = await new_conversation(services, tenant.tenant_id)
        second = await new_conversation(services, tenant.tenant_id)
        sent = []
        for conversation_id in (first, second):
            stored = await services.attachments.upload(
                tenant.tenant_id, conversation_id, "a.pdf", files.pdf(), actor=ada
            )
            sent.append(
                await services.desk.reply(
                    tenant.tenant_id,
                    conversation_id,
                    "here",
                    actor=ada,
                    attachment_ids=[stored.attachment_id],
                )
            )
        url = message_frame(sent[0], services.chat.links)["attachments"][0]["url"]
        tenant_id, attachment_id, kind, exp, sig = link_parts(url)
        other = sent[1].attachments[0].id
        served = await services.attachments.serve(
            tenant_id, attachment_id, kind, exp, sig, actor=ACTOR
        )
        assert served.data.startswith(b"%PDF-")
        with pytest.raises(NotFound):
            await services.attachments.serve(tenant_id, other, kind, exp, sig, actor=ACTOR)
        with pytest.raises(NotFound):
            await services.attachments.serve(
                tenant_id, attachment_id, Kind.THUMBNAIL, exp, sig, actor=ACTOR
            )
        with pytest.raises(NotFound):
            await services.attachments.serve(
                tenant_id, attachment_id, kind, str(int(exp) + 60), sig, actor=ACTOR
            )
        now[0] += services.chat.links.link_lifetime + timedelta(seconds=1)
        with pytest.raises(NotFound):
            await services.attachments.serve(tenant_id, attachment_id, kind, exp, sig, actor=ACTOR)


async def test_t102_uploads_are_held_to_the_limits_per_conversation_and_organisation(
    backend: Services,
) -> None:
    """T-102: a file over the cap, one more file than a conversation may carry, or more bytes
    than the organisation may keep are refused, and nothing is stored for them."""
    tenant = await backend.tenants.create("Limits Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    attachments = backend.attachments
    document = files.pdf()
    original = attachments.limits
    try:
        attachments.limits = type(original)(
            max_bytes=len(document) + 10,
            files_per_conversation=2,
            bytes_per_conversation=10 * len(document),
            bytes_per_organisation=3 * len(document),
        )
        with pytest.raises(PayloadTooLarge):
            await attachments.upload(
                tenant.tenant_id, conversation_id, "big.pdf", document + b"\n" * 11, actor=ada
            )
        for _ in range(2):
            await attachments.upload(
                tenant.tenant_id, conversation_id, "a.pdf", document, actor=ada
            )
        with pytest.raises(AttachmentLimitReached, match="at most 2 files"):
            await attachments.upload(
                tenant.tenant_id, conversation_id, "a.pdf", document, actor=ada
            )
        elsewhere = await new_conversation(backend, tenant.tenant_id)
        await attachments.upload(tenant.tenant_id, elsewhere, "a.pdf", document, actor=ada)
        with pytest.raises(AttachmentLimitReached, match="organisation"):
            await attachments.upload(tenant.tenant_id, elsewhere, "a.pdf", document, actor=ada)
    finally:
        attachments.limits = original


async def test_t102_another_organisations_attachment_cannot_be_sent_nor_served(
    backend: Services,
) -> None:
    """T-102, T-30: an attachment id of organisation A is unknown in organisation B's
    conversation, and A's link under B's id names nothing."""
    a = await backend.tenants.create("A Bank", actor=ACTOR)
    b = await backend.tenants.create("B Bank", actor=ACTOR)
    ada, bob = await member(backend, a.tenant_id), await member(backend, b.tenant_id)
    in_a = await new_conversation(backend, a.tenant_id)
    in_b = await new_conversation(backend, b.tenant_id)
    stored = await backend.attachments.upload(a.tenant_id, in_a, "x.gif", files.gif(), actor=ada)
    with pytest.raises(UnknownAttachment):
        await backend.desk.reply(
            b.tenant_id, in_b, "stolen", actor=bob, attachment_ids=[stored.attachment_id]
        )
    with pytest.raises(NotFound):
        await backend.attachments.upload(b.tenant_id, in_a, "x.gif", files.gif(), actor=bob)
    sent = await backend.desk.reply(
        a.tenant_id, in_a, "", actor=ada, attachment_ids=[stored.attachment_id]
    )
    url = message_frame(sent, backend.chat.links)["attachments"][0]["url"]
    _, attachment_id, kind, exp, sig = link_parts(url)
    with pytest.raises(NotFound):
        await backend.attachments.serve(b.tenant_id, attachment_id, kind, exp, sig, actor=ACTOR)


async def test_an_attachment_goes_with_one_message_only_and_an_unsent_one_is_never_served(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Once Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    stored = await backend.attachments.upload(
        tenant.tenant_id, conversation_id, "x.webp", files.webp(), actor=ada
    )
    links = backend.chat.links
    unsent = urlsplit(
        links.link(tenant.tenant_id, conversation_id, stored.attachment_id, Kind.ORIGINAL)
    )
    with pytest.raises(NotFound):
        await backend.attachments.serve(*link_parts(unsent.geturl()), actor=ACTOR)
    await backend.desk.reply(
        tenant.tenant_id, conversation_id, "one", actor=ada, attachment_ids=[stored.attachment_id]
    )
    with pytest.raises(UnknownAttachment):
        await backend.desk.reply(
            tenant.tenant_id,
            conversation_id,
            "two",
            actor=ada,
            attachment_ids=[stored.attachment_id],
        )
    # A customer cannot send the agent's file as theirs either.
    with pytest.raises(UnknownAttachment):
        await backend.chat.post_user_message(
            tenant.tenant_id,
            conversation_id,
            client_id="c1",
            text="mine",
            attachment_ids=[stored.attachment_id],
        )


async def test_an_upload_no_message_took_within_an_hour_is_removed_and_frees_its_room(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-102: files uploaded and never sent do not hold a conversation's room for long."""
    now = [utcnow()]
    async with migrated_services(tmp_path, sqlite_url, clock=lambda: now[0]) as services:
        tenant = await services.tenants.create("Unsent Bank", actor=ACTOR)
        ada = await member(services, tenant.tenant_id)
        conversation_id = await new_conversation(services, tenant.tenant_id)
        attachments = services.attachments
        original = attachments.limits
        attachments.limits = type(original)(files_per_conversation=1)
        try:
            unsent = await attachments.upload(
                tenant.tenant_id, conversation_id, "a.gif", files.gif(), actor=ada
            )
            with pytest.raises(AttachmentLimitReached):
                await attachments.upload(
                    tenant.tenant_id, conversation_id, "b.gif", files.gif(), actor=ada
                )
            now[0] += timedelta(hours=1, seconds=1)
            await attachments.upload(
                tenant.tenant_id, conversation_id, "c.gif", files.gif(), actor=ada
            )
        finally:
            attachments.limits = original
        with pytest.raises(UnknownAttachment):
            await services.desk.reply(
                tenant.tenant_id,
                conversation_id,
                "",
                actor=ada,
                attachment_ids=[unsent.attachment_id],
            )


async def test_t102_a_ticket_works_once_for_its_own_conversation_until_it_expires(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-102: a ticket whose binding was edited no longer verifies, one past its expiry is
    refused, a used one is refused, and one whose customer is not the conversation's is too."""
    now = [utcnow()]
    async with migrated_services(tmp_path, sqlite_url, clock=lambda: now[0]) as services:
        tenant = await services.tenants.create("Tickets Bank", actor=ACTOR)
        mine = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
        theirs = await services.chat.open_conversation(tenant.tenant_id, "customer-2")
        attachments, links = services.attachments, services.chat.links

        def ticket(conversation_id: str, user_id: str = "customer-1") -> str:
            return links.ticket(tenant.tenant_id, conversation_id, user_id)[0]

        header, body, sig = ticket(mine.conversation_id).split(".")
        decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        decoded["conversation"] = theirs.conversation_id
        edited = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
        with pytest.raises(InvalidUploadTicket):
            await attachments.upload_with_ticket(
                f"{header}.{edited}.{sig}", "a.gif", files.gif(), actor=ACTOR
            )
        with pytest.raises(InvalidUploadTicket):
            await attachments.upload_with_ticket(
                ticket(theirs.conversation_id), "a.gif", files.gif(), actor=ACTOR
            )
        late = ticket(mine.conversation_id)
        now[0] += links.ticket_lifetime + timedelta(seconds=1)
        with pytest.raises(InvalidUploadTicket, match="expired"):
            await attachments.upload_with_ticket(late, "a.gif", files.gif(), actor=ACTOR)
        once = ticket(mine.conversation_id)
        await attachments.upload_with_ticket(once, "a.gif", files.gif(), actor=ACTOR)
        with pytest.raises(InvalidUploadTicket, match="used"):
            await attachments.upload_with_ticket(once, "a.gif", files.gif(), actor=ACTOR)


async def test_uploads_past_the_rate_per_uploader_are_refused(backend: Services) -> None:
    """T-102: about 10 files a minute from one uploader by default (a sliding window: across a
    minute's edge it may let one more through, so 12 in a row see a refusal)."""
    tenant = await backend.tenants.create("Rate Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    conversation_id = await new_conversation(backend, tenant.tenant_id)
    for _ in range(10):
        await backend.attachments.upload(
            tenant.tenant_id, conversation_id, "a.gif", files.gif(), actor=ada
        )
    refused = 0
    for _ in range(2):
        try:
            await backend.attachments.upload(
                tenant.tenant_id, conversation_id, "a.gif", files.gif(), actor=ada
            )
        except RateLimited:
            refused += 1
    assert refused >= 1
