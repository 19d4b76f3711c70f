from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FaqEntry:
    tenant_id: str
    entry_id: str
    question: str
    answer: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    """An uploaded entry screening held back, awaiting an administrator's decision."""

    tenant_id: str
    item_id: str
    question: str
    answer: str
    reasons: tuple[str, ...]
    line: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    errors: list[RowError] = field(default_factory=list)
    quarantined: list[QuarantinedItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Hit:
    entry: FaqEntry
    score: float
    confidence: float
