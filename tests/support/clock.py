"""A clock a test sets and moves: the services built on it read it wherever they would read the
wall clock, so time passes when the test says, never by waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from parlour.storage.types import utcnow


@dataclass
class SetClock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def next_step(self) -> None:
        """Move to the start of the next 30-second TOTP step."""
        seconds = self.now.timestamp()
        self.now += timedelta(seconds=30 - seconds % 30 + 0.001)


@dataclass
class SetMonotonic:
    """A stand-in for `time.monotonic`, for caches that count seconds."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now
