from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """A unit of knowledge: an FAQ row, or a document's passage (its headings as the question)."""

    tenant_id: str
    entry_id: str
    question: str
    answer: str
    created_at: datetime
    source_id: str | None = None
    locator: str = ""  # where in the source: "line 12", "page 3", "section Fees > Cards"
    is_faq: bool = True

    @property
    def embedded_text(self) -> str:
        """What the dense index compares queries with: a question, or a whole passage."""
        return self.question if self.is_faq else f"{self.question}\n{self.answer}"


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
    position: int  # its order among the source's passages
    created_at: datetime
    source_id: str | None = None
    locator: str = ""
    is_faq: bool = True


@dataclass(frozen=True, slots=True)
class Source:
    """One uploaded file, as received: who sent it, what it hashed to."""

    tenant_id: str
    source_id: str
    name: str
    kind: str
    sha256: str
    size_bytes: int
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KnowledgeVersion:
    number: int
    note: str
    created_by: str
    created_at: datetime
    sources: tuple[Source, ...]
    published: bool


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Sources by name: in `to` only, in `since` only, or in both with different content."""

    since: int
    to: int
    added: tuple[Source, ...]
    removed: tuple[Source, ...]
    changed: tuple[tuple[Source, Source], ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An upload's outcome: the version it made, what went live, what did not and why."""

    source: Source
    version: int
    published: bool
    imported: int
    errors: list[RowError]
    quarantined: list[QuarantinedItem]


@dataclass(frozen=True, slots=True)
class Hit:
    entry: FaqEntry
    score: float
    confidence: float
