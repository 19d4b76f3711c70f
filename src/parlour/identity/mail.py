"""Outgoing mail: SMTP (STARTTLS or implicit TLS, stdlib smtplib on a worker thread), or, in
development, an outbox folder where each message lands as an .eml file.

Every mail Parlour sends (sign-up, password reset, invitations, security alerts, customers'
reply mails and transcripts) is built here, by `compose`, the one place its headers are made:
- Headers come from the standard library's `EmailMessage` under its default policy, which
  refuses CR and LF in a header value it is given as such. But the standard library of Python
  before 3.11.10 and 3.12.5 decodes an encoded word (`=?utf-8?q?…?=`) in a value and writes
  what it hides raw (CVE-2024-6923): an organisation named
  `=?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?=` in a subject became a real Bcc header.
- So the subject goes through `header_text` (control characters become spaces, an encoded
  word's opening `=?` is broken as `= ?`), and the recipient through `header_address` (one bare
  address: no control character or space, no encoded word, no second address or display name;
  else `InvalidAddress`). The sender is the operator's own setting.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from parlour.errors import InvalidInput, Unavailable


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class MailUnavailable(Unavailable):
    code = "mail_unavailable"
    default_message = "We could not send e-mail just now; try again shortly."


class InvalidAddress(InvalidInput):
    code = "invalid_email"
    default_message = "That is not an e-mail address we can write to."


# Control characters, CR and LF among them, and the line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What may not stand in a bare address in a header: white space, control characters, and what
# opens a display name, a comment, a group or a second address.
_NOT_BARE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029,;:<>()\"\\\[\]]")


def header_text(text: str, limit: int | None = None) -> str:
    """`text` fit for a header's free text (a subject): control characters (CR and LF among
    them) become spaces, runs of space one, and an encoded word's opening `=?` is broken
    (`= ?`), so that no version of the standard library decodes one (CVE-2024-6923); at most
    `limit` characters."""
    return " ".join(_CONTROL.sub(" ", text).split()).replace("=?", "= ?")[:limit]


def header_address(address: str) -> str:
    """`address` unchanged if it is one bare address that can stand in a header as it is: one
    `@` with something on each side, no white space or control character, no encoded word
    (`=?`, CVE-2024-6923), no display name, comment or second address; else InvalidAddress."""
    local, at, host = address.partition("@")
    if (
        not at
        or not local
        or not host
        or "@" in host
        or "=?" in address
        or len(address) > 320
        or _NOT_BARE.search(address)
    ):
        raise InvalidAddress()
    return address


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """The one way Parlour makes a mail: the recipient checked (`header_address`), the
    subject made safe (`header_text`), the body as plain text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = header_address(to)
    message["Subject"] = header_text(subject)
    message.set_content(body)
    return message


@dataclass
class OutboxMailer:
    folder: Path
    sender: str

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.sender, to, subject, body)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / f"{secrets.token_hex(8)}.eml"
        await asyncio.to_thread(path.write_bytes, message.as_bytes())


@dataclass
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"  # "starttls", "tls" (implicit) or "none" (loopback relays only)
    timeout_seconds: float = 10.0

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.sender, to, subject, body)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as failed:
            raise MailUnavailable() from failed

    def _deliver(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)
