"""Mail leaves through a real SMTP server on loopback (aiosmtpd) and, in development, lands in
the outbox folder."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP, Envelope, Session

from parlour.identity.mail import (
    InvalidAddress,
    MailUnavailable,
    OutboxMailer,
    SmtpMailer,
    compose,
)


class Recorder(Sink):
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = unused_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


async def test_a_mail_reaches_the_smtp_relay_with_its_sender_recipient_and_body(
    relay: tuple[Recorder, int],
) -> None:
    recorder, port = relay
    mailer = SmtpMailer("127.0.0.1", port, "Parlour <no-reply@parlour.test>", security="none")
    await mailer.send("dana@example.com", "Confirm your address", "Open this link: https://x/y")
    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "no-reply@parlour.test"
    assert envelope.rcpt_tos == ["dana@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
    assert message["Subject"] == "Confirm your address"
    assert "https://x/y" in message.get_content()  # type: ignore[attr-defined]


async def test_an_unreachable_relay_is_a_clear_unavailable_error() -> None:
    mailer = SmtpMailer(
        "127.0.0.1", unused_port(), "p@parlour.test", security="none", timeout_seconds=2
    )
    with pytest.raises(MailUnavailable):
        await mailer.send("dana@example.com", "s", "b")


async def test_in_development_mail_lands_in_the_outbox_folder(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    await OutboxMailer(outbox, "p@parlour.test").send("dana@example.com", "Hello", "Body")
    (path,) = outbox.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "dana@example.com"


async def test_t101_no_subject_or_recipient_can_add_a_header_to_any_mail(
    relay: tuple[Recorder, int],
) -> None:
    """T-101: every sender's mail is built by `compose`: CR LF, a line separator or an encoded word
    hiding CR LF (CVE-2024-6923 in this Python) in a subject stays text, and a recipient that
    is not one bare address is refused before anything is sent."""
    recorder, port = relay
    mailer = SmtpMailer("127.0.0.1", port, "no-reply@parlour.test", security="none")
    subjects = [
        "Hi =?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?=",
        "Hi Evil\r\nBcc: thief@evil.example",
        "Hi Evil\u2028Bcc: thief@evil.example",
    ]
    for subject in subjects:
        await mailer.send("dana@example.com", subject, "body")
    for envelope in recorder.envelopes:
        assert envelope.rcpt_tos == ["dana@example.com"]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        assert "Bcc" not in message
        assert message["Subject"].startswith("Hi ")
    assert len(recorder.envelopes) == len(subjects)

    refused = [
        "=?utf-8?q?dana=0D=0ABcc=3A_thief=40evil.example?=@example.com",
        "dana@example.com\r\nBcc: thief@evil.example",
        "dana@example.com, thief@evil.example",
        "Dana <dana@example.com>",
        "dana",
    ]
    for to in refused:
        with pytest.raises(InvalidAddress):
            compose("no-reply@parlour.test", to, "s", "b")
        with pytest.raises(InvalidAddress):
            await mailer.send(to, "s", "b")
    assert len(recorder.envelopes) == len(subjects)
