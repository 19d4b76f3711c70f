"""Outgoing mail: SMTP (STARTTLS or implicit TLS, stdlib smtplib on a worker thread), or, in
development, an outbox folder where each message lands as an .eml file."""

from __future__ import annotations

import asyncio
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from parlour.errors import Unavailable


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class MailUnavailable(Unavailable):
    code = "mail_unavailable"
    default_message = "We could not send e-mail just now; try again shortly."


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


@dataclass
class OutboxMailer:
    folder: Path
    sender: str

    async def send(self, to: str, subject: str, body: str) -> None:
        message = _message(self.sender, to, subject, body)
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
        message = _message(self.sender, to, subject, body)
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
