"""A clock a test sets and moves, for the services that take one: time passes when the test
says, never by waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from parlour.storage.types import utcnow


@dataclass
class Clock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def next_step(self) -> None:
        """Move to the start of the next 30-second TOTP step."""
        seconds = self.now.timestamp()
        self.now += timedelta(seconds=30 - seconds % 30 + 0.001)
