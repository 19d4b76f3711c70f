"""A real SMTP server on loopback (aiosmtpd) that keeps every message it is sent."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Relay(Sink):
    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: bool = False  # answer every message with a temporary failure
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse:
            return "451 Try again later"
        with self.arrived:
            self.envelopes.append(envelope)
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, received: Callable[[], bool], timeout: float) -> bool:
        """Block (a thread, not the event loop) until `received()` holds, at most `timeout`."""
        with self.arrived:
            return self.arrived.wait_for(received, timeout)

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        """Each message received: its recipients, and itself."""
        return [
            (
                list(e.rcpt_tos),
                email.message_from_bytes(e.content, policy=email.policy.default),  # type: ignore[arg-type]
            )
            for e in self.envelopes
        ]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def smtp_relay() -> Iterator[Relay]:
    relay = Relay(port=unused_port())
    controller = Controller(relay, hostname="127.0.0.1", port=relay.port)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()
