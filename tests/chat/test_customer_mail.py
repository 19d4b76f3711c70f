"""Mail to customers (T-101): the address a customer leaves, the reply mailed while they are
away, the transcript they ask for; sent to a real SMTP server (aiosmtpd), on each backend."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from parlour.chat.customer_mail import NoAddress, checked_address
from parlour.chat.models import Author
from parlour.errors import RateLimited
from parlour.identity.mail import InvalidAddress
from parlour.keys.models import VISITOR_PREFIX, EndUser
from parlour.services import Services, build_services
from parlour.settings import IdentitySettings, Settings
from parlour.storage.tables import tenants
from tests.chat.test_lifecycle import member
from tests.conftest import make_settings
from tests.support.clock import SetClock
from tests.support.seed import ACTOR
from tests.support.smtp import Relay, smtp_relay

NOW = datetime(2026, 6, 7, 22, 0, tzinfo=UTC)
# What every mail to a customer carries as headers, and nothing else.
HEADERS = {"from", "to", "subject", "content-type", "content-transfer-encoding", "mime-version"}


@pytest.fixture
def relay() -> Iterator[Relay]:
    with smtp_relay() as running:
        yield running


@pytest.fixture
def clock() -> SetClock:
    return SetClock(NOW)


def mailing_settings(
    tmp_path: Path, database_url: str, relay: Relay, **gateway: object
) -> Settings:
    return make_settings(
        tmp_path,
        database_url=database_url,
        gateway=gateway,
        identity=IdentitySettings(
            smtp_host="127.0.0.1", smtp_port=relay.port, smtp_security="none"
        ),
    )


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, relay: Relay, clock: SetClock
) -> AsyncIterator[Services]:
    built = build_services(
        mailing_settings(tmp_path, database_url, relay),
        clock=clock,
    )
    await built.migrate()
    try:
        yield built
    finally:
        await built.aclose()


def address() -> str:
    return f"customer-{secrets.token_hex(4)}@mail.example"


def customer(tenant_id: str, user_id: str, **traits: str) -> EndUser:
    return EndUser(
        tenant_id, user_id, "https://shop.example.com", "t", NOW + timedelta(hours=1), traits
    )


def visitor(tenant_id: str) -> EndUser:
    return EndUser(
        tenant_id,
        f"{VISITOR_PREFIX}{secrets.token_hex(4)}",
        "https://shop.example.com",
        "t",
        NOW + timedelta(hours=1),
        {"email": "claimed@mail.example"},
        visitor=True,
    )


async def conversation(services: Services, tenant_id: str, user: EndUser) -> str:
    opened = await services.chat.open_conversation(tenant_id, user.user_id)
    return opened.conversation_id


def received(relay: Relay, to: str) -> list[EmailMessage]:
    return [message for rcpt, message in relay.messages() if rcpt == [to]]


async def test_t101_an_invalid_address_is_refused_and_nothing_is_stored(
    services: Services,
) -> None:
    """T-101: one plain address only: no display name, no second recipient, no header."""
    tenant = await services.tenants.create("Mail Bank", actor=ACTOR)
    user = customer(tenant.tenant_id, "ada")
    conversation_id = await conversation(services, tenant.tenant_id, user)
    refused = [
        "",
        "ada",
        "ada@",
        "@mail.example",
        "ada@mail",
        "ada@@mail.example",
        "ada@mail.example\r\nBcc: thief@evil.example",
        "ada@mail.example\nBcc: thief@evil.example",
        "Ada <ada@mail.example>",
        '"ada lovelace"@mail.example',
        "ada@mail.example, thief@evil.example",
        "ada@mail.example;thief@evil.example",
        "ada(comment)@mail.example",
        "ada..lovelace@mail.example",
        ".ada@mail.example",
        "ada@-mail.example",
        "ada@mail.example.",
        "ada@[127.0.0.1]",
        "adä@mail.example",
        "ada@mäil.example",
        "ada@mail.example\x00",
        "=?utf-8?q?ada=0D=0ABcc=3A_thief=40evil.example?= <ada@mail.example>",
        "=?utf-8?q?ada=0D=0ABcc:_thief?=@mail.example",
        "a" * 65 + "@mail.example",
        "ada@" + "a" * 250 + ".example",
    ]
    for text in refused:
        with pytest.raises(InvalidAddress):
            checked_address(text)
        with pytest.raises(InvalidAddress):
            await services.customer_mail.leave_address(tenant.tenant_id, conversation_id, text)
    assert await services.customer_mail.address_of(tenant.tenant_id, conversation_id) is None
    assert checked_address("Ada.Lovelace+chat@Mail.Example") == "Ada.Lovelace+chat@mail.example"
    assert checked_address("ada@xn--mil-ela.example") == "ada@xn--mil-ela.example"


async def test_t101_a_transcript_goes_only_to_the_verified_address_or_the_one_left_in_it(
    services: Services, relay: Relay
) -> None:
    """T-101: the verified e-mail in a customer's token first; else the address they left in
    this very conversation; a visitor's claimed trait, or an address left in another
    conversation, is never used."""
    tenant_id = (await services.tenants.create("Mail Bank", actor=ACTOR)).tenant_id
    verified_address = address()
    verified = customer(tenant_id, "ada", email=verified_address)
    first = await conversation(services, tenant_id, verified)
    await services.chat.post_user_message(tenant_id, first, client_id="c1", text="My card is lost")
    await services.customer_mail.request_transcript(tenant_id, first, verified)
    assert await services.customer_mail.send_due() == 1
    (mail,) = received(relay, verified_address)
    assert "My card is lost" in mail.get_content()

    # A visitor: what it claims is nobody's word; without an address left, nothing is sent.
    anonymous = visitor(tenant_id)
    theirs = await conversation(services, tenant_id, anonymous)
    with pytest.raises(NoAddress):
        await services.customer_mail.request_transcript(tenant_id, theirs, anonymous)
    # An address left in another conversation does not serve this one.
    other_user = customer(tenant_id, "bo")
    others = await conversation(services, tenant_id, other_user)
    left = address()
    await services.customer_mail.leave_address(tenant_id, others, left)
    with pytest.raises(NoAddress):
        await services.customer_mail.request_transcript(tenant_id, theirs, anonymous)
    # Left in its own conversation, it is used.
    own = address()
    await services.customer_mail.leave_address(tenant_id, theirs, own)
    await services.customer_mail.request_transcript(tenant_id, theirs, anonymous)
    assert await services.customer_mail.send_due() == 1
    assert len(received(relay, own)) == 1
    assert received(relay, "claimed@mail.example") == []
    assert received(relay, left) == []


async def test_t101_mail_to_customers_is_rate_limited_per_customer_and_per_organisation(
    tmp_path: Path, database_url: str, relay: Relay, clock: SetClock
) -> None:
    """T-101: past a customer's rate, their next transcript is refused; past the organisation's,
    every customer's is, until the window moves on."""
    settings = mailing_settings(
        tmp_path,
        database_url,
        relay,
        customer_mails_per_user="2/hour",
        customer_mails_per_tenant="3/hour",
    )
    services = build_services(settings, clock=clock)
    await services.migrate()
    try:
        tenant_id = (await services.tenants.create("Busy Bank", actor=ACTOR)).tenant_id
        ada = customer(tenant_id, "ada", email=address())
        bo = customer(tenant_id, "bo", email=address())
        cy = customer(tenant_id, "cy", email=address())
        ada_talk = await conversation(services, tenant_id, ada)
        bo_talk = await conversation(services, tenant_id, bo)
        cy_talk = await conversation(services, tenant_id, cy)
        mail = services.customer_mail
        await mail.request_transcript(tenant_id, ada_talk, ada)
        await mail.request_transcript(tenant_id, ada_talk, ada)
        with pytest.raises(RateLimited):  # Ada's own rate
            await mail.request_transcript(tenant_id, ada_talk, ada)
        await mail.request_transcript(tenant_id, bo_talk, bo)
        with pytest.raises(RateLimited):  # the organisation's rate: Cy has sent nothing yet
            await mail.request_transcript(tenant_id, cy_talk, cy)
        assert await mail.send_due() == 3
        # Another organisation's customers are not held by this one's rate.
        other_id = (await services.tenants.create("Quiet Bank", actor=ACTOR)).tenant_id
        dee = customer(other_id, "dee", email=address())
        await mail.request_transcript(other_id, await conversation(services, other_id, dee), dee)
        assert await mail.send_due() == 1
    finally:
        await services.aclose()


async def test_t101_cr_lf_and_encoded_words_in_names_and_subjects_cannot_inject_headers(
    services: Services, relay: Relay
) -> None:
    """T-101, CWE-93: an organisation named to smuggle headers, a customer's text and an
    agent's reply full of CR/LF and encoded words: the SMTP server receives exactly the headers
    expected, to exactly the one recipient."""
    names = [
        "Evil Bank\r\nBcc: thief@evil.example",
        "Evil Bank\nBcc: thief@evil.example\n\nbody",
        "=?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?=",
        "=?utf-8?b?RXZpbA0KQmNjOiB0aGllZkBldmlsLmV4YW1wbGU=?=",
        "Evil\u2028Bcc: thief@evil.example",
    ]
    for name in names:
        tenant_id = (await services.tenants.create("Evil Bank", actor=ACTOR)).tenant_id
        # Names with control characters are refused today (T-90); one stored before that rule,
        # or written around it, must still inject nothing.
        async with services.db.transaction(tenant_id) as conn:
            await conn.execute(
                update(tenants).where(tenants.c.tenant_id == tenant_id).values(name=name)
            )
        to = address()
        user = customer(tenant_id, "ada", email=to)
        conversation_id = await conversation(services, tenant_id, user)
        await services.chat.post_user_message(
            tenant_id, conversation_id, client_id="c", text="Subject: x\nBcc: thief@evil.example"
        )
        await services.customer_mail.request_transcript(tenant_id, conversation_id, user)
        assert await services.customer_mail.send_due() == 1
        (mail,) = received(relay, to)
        assert {key.lower() for key in mail} == HEADERS, name
        assert mail["To"] == to
        assert "\n" not in str(mail["Subject"])
        assert "\r" not in str(mail["Subject"])
        assert mail["Bcc"] is None
    rcpts = [rcpt for rcpt, _ in relay.messages()]
    assert all(len(r) == 1 and "evil.example" not in r[0] for r in rcpts)


async def test_an_agents_reply_while_the_customer_is_away_is_mailed_once_with_what_followed(
    services: Services, relay: Relay, clock: SetClock
) -> None:
    """A reply waits a little for the customer to read it in the widget; unread, it is mailed
    to the address they left, with the replies that followed it, once; never the notes or the
    assistant's turns."""
    tenant_id = (await services.tenants.create("Desk Bank", actor=ACTOR)).tenant_id
    agent = await member(services, tenant_id)
    user = customer(tenant_id, "ada")
    conversation_id = await conversation(services, tenant_id, user)
    to = address()
    await services.customer_mail.leave_address(tenant_id, conversation_id, to)
    await services.chat.request_handoff(tenant_id, conversation_id)
    await services.desk.reply(tenant_id, conversation_id, "Your card is frozen.", actor=agent)
    await services.desk.reply(tenant_id, conversation_id, "A new one is on its way.", actor=agent)
    assert await services.customer_mail.send_due() == 0  # not yet: they may read it in time
    clock.advance(seconds=121)
    assert await services.customer_mail.send_due() == 1
    (mail,) = received(relay, to)
    body = mail.get_content()
    assert "Your card is frozen." in body
    assert "A new one is on its way." in body
    assert "Desk Bank" in str(mail["Subject"])
    clock.advance(hours=1)
    assert await services.customer_mail.send_due() == 0


async def test_a_reply_the_customer_read_in_the_widget_is_not_mailed(
    services: Services, relay: Relay, clock: SetClock
) -> None:
    tenant_id = (await services.tenants.create("Desk Bank", actor=ACTOR)).tenant_id
    agent = await member(services, tenant_id)
    user = customer(tenant_id, "ada")
    conversation_id = await conversation(services, tenant_id, user)
    to = address()
    await services.customer_mail.leave_address(tenant_id, conversation_id, to)
    await services.chat.request_handoff(tenant_id, conversation_id)
    reply = await services.desk.reply(tenant_id, conversation_id, "Done.", actor=agent)
    assert reply.author is Author.AGENT
    await services.customer_mail.seen(tenant_id, conversation_id, reply.seq)
    clock.advance(minutes=10)
    assert await services.customer_mail.send_due() == 0
    assert received(relay, to) == []


async def test_a_reply_sent_after_the_one_the_customer_read_is_still_mailed(
    services: Services, relay: Relay, clock: SetClock
) -> None:
    """The customer's ack of the first reply arrives after a second one rode into the same
    owed mail: the mail then carries the second alone, rather than being called off."""
    tenant_id = (await services.tenants.create("Desk Bank", actor=ACTOR)).tenant_id
    agent = await member(services, tenant_id)
    user = customer(tenant_id, "ada")
    conversation_id = await conversation(services, tenant_id, user)
    to = address()
    await services.customer_mail.leave_address(tenant_id, conversation_id, to)
    await services.chat.request_handoff(tenant_id, conversation_id)
    first = await services.desk.reply(tenant_id, conversation_id, "Frozen it.", actor=agent)
    await services.desk.reply(tenant_id, conversation_id, "New card posted.", actor=agent)
    await services.customer_mail.seen(tenant_id, conversation_id, first.seq)
    clock.advance(seconds=121)
    assert await services.customer_mail.send_due() == 1
    (mail,) = received(relay, to)
    body = mail.get_content()
    assert "New card posted." in body
    assert "Frozen it." not in body


async def test_a_failed_send_is_tried_again_later_and_the_mail_holds_no_secret(
    services: Services, relay: Relay, clock: SetClock
) -> None:
    """Off the request path and retried: an SMTP server that refuses keeps the mail owed."""
    tenant_id = (await services.tenants.create("Retry Bank", actor=ACTOR)).tenant_id
    to = address()
    user = customer(tenant_id, "ada", email=to)
    conversation_id = await conversation(services, tenant_id, user)
    await services.chat.post_user_message(tenant_id, conversation_id, client_id="c", text="hi")
    await services.customer_mail.request_transcript(tenant_id, conversation_id, user)
    relay.refuse = True
    assert await services.customer_mail.send_due() == 0
    relay.refuse = False
    assert await services.customer_mail.send_due() == 0  # waiting its turn
    clock.advance(seconds=31)
    assert await services.customer_mail.send_due() == 1
    (mail,) = received(relay, to)
    assert "token" not in mail.get_content().lower()


async def test_t99_a_transcript_mailed_to_the_customer_holds_no_private_note(
    services: Services, relay: Relay
) -> None:
    """T-99: a transcript is made of the conversation's messages; a note written between them
    is in no part of the mail the customer receives."""
    tenant_id = (await services.tenants.create("Mail Bank", actor=ACTOR)).tenant_id
    ada = await member(services, tenant_id)
    to = address()
    user = customer(tenant_id, "ada", email=to)
    conversation_id = await conversation(services, tenant_id, user)
    await services.chat.post_user_message(
        tenant_id, conversation_id, client_id="c1", text="My card is lost"
    )
    await services.notes.add(tenant_id, conversation_id, "VIP, be kind NOTE5531", actor=ada)
    await services.desk.reply(tenant_id, conversation_id, "We have blocked it.", actor=ada)
    await services.customer_mail.request_transcript(tenant_id, conversation_id, user)
    assert await services.customer_mail.send_due() == 1
    (mail,) = received(relay, to)
    text = mail.as_string()
    assert "My card is lost" in text
    assert "We have blocked it." in text
    assert "NOTE5531" not in text
