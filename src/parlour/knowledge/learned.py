"""Phrasings an organisation's customers teach its FAQ entries (issue 23, item 2).

When the assistant is unsure between a few entries it offers them as choices; a customer's pick
is feedback: their question becomes a learned phrasing of the chosen entry, for that
organisation only, matched like a written phrasing (the index gives the entry the phrasing's
words and vector, KnowledgeService._index) and never shown.

- Keyed by the entry's question, not its id: `entry_key`, an HMAC of the normalised question
  under the organisation's own index key (`TenantCipher.index_key`). A re-upload of the same
  question (its answer edited, the file replaced) keeps what it learned; a changed question is
  another entry and starts afresh. The key tells nothing of the question without the tenant's
  key, and dies with it (crypto-shredding).
- Stored sealed like an entry's question and vector (learned_phrasings, 0036).
- Never learned: a question holding personal data or a secret of any kind parlour.sensitive
  finds (an e-mail address, a phone or card number, a key), anything else screening would hold
  back in an upload (knowledge/screening.py), one longer than `max_chars`, one the entry is
  matched by already, or a document's passage (only FAQ entries have phrasings).
- Rate-limited with the platform's limiter (parlour.rate_limits): per customer and per
  organisation in a window; and at most `per_entry` per entry, after which it stops learning.
- Audited: `knowledge.phrasing_learned` names the entry and the phrasing's id, never the text.
- Reversible: a member removes one (`knowledge.learned_phrasing_removed`), or keeps it as a
  written phrasing of the entry (a new version of the entry's FAQ file, like any edit).
Every change moves the tenant's knowledge state token, so every node rebuilds its index.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from parlour import sensitive
from parlour.audit.events import Actor, LearnedPhrasingKept, LearnedPhrasingRemoved, PhrasingLearned
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, NotFound
from parlour.knowledge.embeddings import Embedder, Vectors, embed_off_loop
from parlour.knowledge.entries import Upload
from parlour.knowledge.faq import MAX_PHRASINGS, PHRASINGS_SEPARATOR
from parlour.knowledge.formats import SourceKind
from parlour.knowledge.learned_repository import LearnedRepository
from parlour.knowledge.models import FaqEntry, ImportReport, LearnedPhrasing, Replacing
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.knowledge.screening import screen
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.dialect import serialise
from parlour.storage.types import Clock, utcnow

PER_CUSTOMER = "learned_phrasings_per_customer"
PER_TENANT = "learned_phrasings_per_tenant"
LEARNER = Actor.system("assistant-choices")  # who learns: the customers' picks
_KEY_PURPOSE = b"learned-phrasing/v1\x00"
_LINE = re.compile(r"line (\d+)")
_BREAKS = re.compile(r"[|\r\n]+")  # the FAQ file's phrasing separators


@dataclass(frozen=True, slots=True)
class LearningLimits:
    max_chars: int = 200  # a longer question is not learned
    per_entry: int = 50  # an entry with this many learns no more
    per_customer: str = "5/hour"
    per_tenant: str = "100/hour"

    @property
    def rules(self) -> dict[str, str]:
        """The rate rules, for the platform's `RateLimits`."""
        return {PER_CUSTOMER: self.per_customer, PER_TENANT: self.per_tenant}


class Learning(StrEnum):
    """What a pick taught: the phrasing, or why nothing."""

    LEARNED = "learned"
    NOT_FAQ = "not_faq"  # a document's passage: it has no phrasings
    TOO_LONG = "too_long"
    SCREENED = "screened"  # personal data, a secret, an instruction: never kept
    KNOWN = "known"  # the entry is matched by it already
    ENTRY_FULL = "entry_full"  # the entry learned `per_entry` already
    CUSTOMER_RATE = "customer_rate"
    TENANT_RATE = "tenant_rate"


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def entry_key(cipher: TenantCipher, question: str) -> str:
    """The key learned phrasings name their entry by: its question, hashed under the tenant's
    own key."""
    data = _KEY_PURPOSE + normalised(question).encode()
    return hmac.new(cipher.index_key, data, hashlib.sha256).hexdigest()


class LearnedPhrasings:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        upload: Upload,
        rate_limits: RateLimits,
        *,
        embedder: Embedder | None,
        limits: LearningLimits,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._upload = upload
        self._rate_limits = rate_limits
        self._embedder = embedder
        self._limits = limits
        self._clock = clock

    async def learn(
        self, tenant_id: str, entry: FaqEntry, question: str, *, customer: str
    ) -> Learning:
        """Teach `entry` the customer's `question` (they picked the entry for it), if the rules
        allow."""
        text = " ".join(question.split())
        if not entry.is_faq:
            return Learning.NOT_FAQ
        if len(text) > self._limits.max_chars:
            return Learning.TOO_LONG
        # Any personal data or secret (an address, a phone number, a key), or anything else
        # screening would hold back in an upload.
        if not text or sensitive.find(text) or screen(text, question=True):
            return Learning.SCREENED
        if normalised(text) in {normalised(t) for t in (entry.question, *entry.phrasings)}:
            return Learning.KNOWN
        cipher = await self._vault.cipher(tenant_id)
        key = entry_key(cipher, entry.question)
        async with self._db.read(tenant_id) as conn:
            known = await LearnedRepository(conn, cipher).of_keys(tenant_id, [key])
        if any(normalised(p.text) == normalised(text) for p in known):
            return Learning.KNOWN
        if len(known) >= self._limits.per_entry:
            return Learning.ENTRY_FULL
        if not await self._rate_limits.allow(PER_CUSTOMER, tenant_id, customer):
            return Learning.CUSTOMER_RATE
        if not await self._rate_limits.allow(PER_TENANT, tenant_id):
            return Learning.TENANT_RATE
        vectors = await embed_off_loop(self._embedder, [text])
        now = self._clock()
        phrasing = LearnedPhrasing(tenant_id, str(uuid.uuid4()), key, entry.entry_id, text, now)
        async with self._db.transaction(tenant_id) as conn:
            await serialise(conn, f"learned-phrasings:{tenant_id}:{key}")
            learned = LearnedRepository(conn, cipher)
            if await learned.count(tenant_id, key) >= self._limits.per_entry:
                return Learning.ENTRY_FULL
            model = self._embedder.model_id if self._embedder else None
            await learned.add(phrasing, None if vectors is None else vectors[0], model)
            await learned.changed(tenant_id, now, str(uuid.uuid4()))
            event = PhrasingLearned(entry.entry_id, phrasing.phrasing_id)
            await self._audit.record(conn, tenant_id, event, LEARNER)
        return Learning.LEARNED

    async def of_entry(self, tenant_id: str, question: str) -> list[LearnedPhrasing]:
        """What the entry with this question learned, oldest first (the knowledge editor's)."""

        async def read(cipher: TenantCipher) -> list[LearnedPhrasing]:
            async with self._db.read(tenant_id) as conn:
                key = entry_key(cipher, question)
                return await LearnedRepository(conn, cipher).of_keys(tenant_id, [key])

        return await self._vault.using(tenant_id, read)

    async def by_entry(
        self, tenant_id: str, entries: Sequence[FaqEntry]
    ) -> tuple[list[tuple[FaqEntry, list[LearnedPhrasing]]], list[LearnedPhrasing]]:
        """The tenant's learned phrasings grouped under these entries (those with any, in the
        entries' order), and those of no entry among them (their question changed, or went)."""

        async def read(cipher: TenantCipher) -> list[LearnedPhrasing]:
            async with self._db.read(tenant_id) as conn:
                return await LearnedRepository(conn, cipher).of_keys(tenant_id)

        cipher = await self._vault.cipher(tenant_id)
        learned = await self._vault.using(tenant_id, read)
        grouped: dict[str, list[LearnedPhrasing]] = {}
        for phrasing in learned:
            grouped.setdefault(phrasing.entry_key, []).append(phrasing)
        listed = []
        for entry in entries:
            found = grouped.pop(entry_key(cipher, entry.question), None)
            if found:
                listed.append((entry, found))
        return listed, [p for rest in grouped.values() for p in rest]

    async def remove(self, tenant_id: str, phrasing_id: str, *, actor: Actor) -> None:
        """A member takes a learned phrasing back: it no longer finds its entry."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            learned = LearnedRepository(conn, cipher)
            phrasing = await learned.get(tenant_id, phrasing_id)
            if phrasing is None or not await learned.remove(tenant_id, phrasing_id):
                raise NotFound("no such learned phrasing")
            await learned.changed(tenant_id, self._clock(), str(uuid.uuid4()))
            event = LearnedPhrasingRemoved(phrasing.entry_id, phrasing_id)
            await self._audit.record(conn, tenant_id, event, actor)

    async def keep(self, tenant_id: str, phrasing_id: str, *, actor: Actor) -> ImportReport:
        """A member keeps a learned phrasing as a written one: the entry's FAQ file, in the
        latest version, is uploaded again with the phrasing in its row (a new version,
        screened and audited like any upload); the learned copy goes."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            phrasing = await LearnedRepository(conn, cipher).get(tenant_id, phrasing_id)
            if phrasing is None:
                raise NotFound("no such learned phrasing")
            sources = SourceRepository(conn)
            latest = await sources.sources_of(tenant_id, await sources.latest_number(tenant_id))
            faq = FaqRepository(conn, cipher)
            found = None
            for source in latest:
                if source.kind != SourceKind.FAQ_CSV:
                    continue
                rows = await faq.of_source(tenant_id, source.source_id)
                if any(entry_key(cipher, e.question) == phrasing.entry_key for e in rows):
                    found = source, rows
                    break
        if found is None:
            raise InvalidInput(
                "Only an entry of a CSV FAQ file can keep a phrasing; remove it instead."
            )
        source, rows = found
        data = with_phrasing(
            rows, phrasing.entry_key, phrasing.text, lambda q: entry_key(cipher, q)
        )
        report = await self._upload(
            tenant_id, source.name, data, actor=actor, replacing=Replacing(source.source_id)
        )
        async with self._db.transaction(tenant_id) as conn:
            learned = LearnedRepository(conn, cipher)
            if await learned.remove(tenant_id, phrasing_id):
                await learned.changed(tenant_id, self._clock(), str(uuid.uuid4()))
                event = LearnedPhrasingKept(phrasing.entry_id, phrasing_id, report.version)
                await self._audit.record(conn, tenant_id, event, actor)
        return report


def with_learned(
    cipher: TenantCipher,
    entries: list[FaqEntry],
    vectors: list[Vectors] | None,
    learned: dict[str, list[tuple[str, Vectors | None]]],
) -> tuple[list[FaqEntry], list[Vectors] | None]:
    """The live FAQ entries with what their organisation's customers taught them: the words
    (lexical) and, where embedded with the index's model, the vectors (dense) of their learned
    phrasings, found by the key of their question."""
    taught: list[FaqEntry] = []
    rows: list[Vectors] | None = [] if vectors is not None else None
    for i, entry in enumerate(entries):
        found = learned.get(entry_key(cipher, entry.question)) if entry.is_faq else None
        if found:
            entry = dataclasses.replace(entry, learned=tuple(text for text, _ in found))
        taught.append(entry)
        if rows is not None and vectors is not None:
            extra = [v for _, v in found or () if v is not None]
            rows.append(
                np.concatenate([np.atleast_2d(vectors[i]), *extra]) if extra else vectors[i]
            )
    return taught, rows


def with_phrasing(
    rows: Sequence[FaqEntry], key: str, text: str, key_of: Callable[[str], str]
) -> bytes:
    """The FAQ file of `rows` (kept in their order by line, with their phrasings), the
    phrasing added to the row whose question has `key`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "answer", "phrasings"])
    for entry in sorted(rows, key=lambda entry: _line(entry.locator)):
        phrasings = list(entry.phrasings)
        if key_of(entry.question) == key:
            if len(phrasings) >= MAX_PHRASINGS:
                raise InvalidInput(f"An entry may have at most {MAX_PHRASINGS} phrasings.")
            phrasings.append(_BREAKS.sub(" ", text))
        writer.writerow([entry.question, entry.answer, PHRASINGS_SEPARATOR.join(phrasings)])
    return out.getvalue().encode()


def _line(locator: str) -> int:
    match = _LINE.fullmatch(locator)
    return int(match[1]) if match else 0
