"""A clock a test sets: the services built on it read it wherever they would read the wall
clock, so a test moves time forward instead of waiting for it."""

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


@dataclass
class SetMonotonic:
    """A stand-in for `time.monotonic`, for caches that count seconds."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now
