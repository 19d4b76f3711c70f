from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from parlour.knowledge.embeddings import Vectors

# How much of an FAQ's answer is embedded: its beginning says what it is about, and embedding
# whole long answers would make an import several times slower (issue 23).
ANSWER_CHARS = 600


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
    # Other ways customers ask the FAQ's question, written by the organisation: each one finds
    # the entry as its question does (they are matched, never shown).
    phrasings: tuple[str, ...] = ()
    # Phrasings its organisation's customers taught it by picking it among the assistant's
    # choices (knowledge/learned.py): matched like `phrasings`, never shown, never stored with
    # the entry; the index adds them as it is built.
    learned: tuple[str, ...] = ()
    url: str | None = None  # its source's address, for the citation's link (source_urls.py)

    @property
    def embedded_texts(self) -> tuple[str, ...]:
        """What the dense index compares queries with, one vector each: an FAQ's question and
        its phrasings, or a document's whole passage."""
        if not self.is_faq:
            return (f"{self.question}\n{self.answer}",)
        return (self.question, *self.phrasings)

    @property
    def vector_texts(self) -> tuple[str, ...]:
        """Every text the entry stores a vector of, in their stored order: `embedded_texts`,
        then an FAQ's answer (its beginning), which the dense index adds to the best of those
        with a small weight (knowledge/retrieval.py). A passage's one text holds its answer
        already."""
        if not self.is_faq:
            return self.embedded_texts
        return (*self.embedded_texts, self.answer[:ANSWER_CHARS])


@dataclass(frozen=True, slots=True)
class LearnedPhrasing:
    """A customer's question an FAQ entry learned when the customer picked it among the
    assistant's choices; its entry is named by `entry_key`, a keyed hash of the entry's
    question (knowledge/learned.py), and `entry_id` is the entry it was learned for then."""

    tenant_id: str
    phrasing_id: str
    entry_key: str
    entry_id: str
    text: str
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
    position: int  # its order among the source's passages
    created_at: datetime
    source_id: str | None = None
    locator: str = ""
    is_faq: bool = True
    phrasings: tuple[str, ...] = ()


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
    # Where customers can read it on the organisation's site: https only (source_urls.py).
    source_url: str | None = None


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


class GapKind(StrEnum):
    """Why a question is a knowledge gap."""

    ABSTAINED = "abstained"  # the assistant found no confident knowledge
    UNHELPFUL = "unhelpful"  # answered, but the customer gave the answer a thumbs down


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A customer's question the assistant abstained on, or answered unhelpfully (its customer
    gave the answer a thumbs down): `kind` (its message id is `question_id`)."""

    tenant_id: str
    question_id: str
    conversation_id: str
    asked_at: datetime
    question: str
    kind: GapKind = GapKind.ABSTAINED


@dataclass(frozen=True, slots=True)
class GapCluster:
    """Unanswered questions that ask the same thing: how many, the one that says it best (the
    group's centre, every member is close to it), and a few of the newest."""

    count: int
    label: UnansweredQuestion
    samples: tuple[UnansweredQuestion, ...]
    last_asked_at: datetime
    unhelpful: int = 0  # of `count`: answered, but given a thumbs down (GapKind.UNHELPFUL)


@dataclass(frozen=True, slots=True)
class KnowledgeGapsReport:
    """A period's knowledge gaps, largest first. `questions` were asked in the period; the
    newest `considered` of them were grouped (the rest, when there are more, are older)."""

    tenant_id: str
    since: datetime
    until: datetime
    questions: int
    considered: int
    grouped_by: str  # "meaning" (embeddings) or "words" (embeddings off)
    clusters: tuple[GapCluster, ...]


@dataclass(frozen=True, slots=True)
class Retrieved:
    """A search's hits, the query's embedding when dense retrieval computed one, and the
    organisation's calibrated thresholds when its knowledge has them (the hits' confidences
    are then dense scores, on the scale the calibration was made on)."""

    hits: list[Hit]
    query_vector: Vectors | None
    calibration: Calibration | None = None


@dataclass(frozen=True, slots=True)
class Calibration:
    """Where one knowledge version's confidence bands start, found on its own FAQ by asking
    each entry's question against the other entries (knowledge/calibration.py): at or above
    `answer`, answer; from `offer`, offer the entries found as choices; below, abstain."""

    answer: float
    offer: float
    asked: int  # how many entries' questions were asked


@dataclass(frozen=True, slots=True)
class Replacing:
    """An upload that replaces exactly this source of its name in the latest version (None:
    there is none); if another version replaced it meanwhile, the upload is refused. What the
    replaced source has waiting for review carries over to the new one, still waiting."""

    source_id: str | None
