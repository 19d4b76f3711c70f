"""Knowledge gaps: the questions the assistant could not answer, kept sealed, and grouped by
meaning for the organisation's report, largest group first. Besides the questions it abstained
on, a question it answered is kept too when its customer gave the answer a thumbs down
(`GapKind.UNHELPFUL`, "answered but unhelpful", assistant/feedback.py), masked and sealed alike.

Recording: when a turn abstains (no confident knowledge), its question is kept for analysts, who
may not read conversations (T-103): what `parlour.sensitive` finds in it (card numbers, secrets,
e-mail addresses, phone numbers, ...) is masked first ("[card]"), and the rest stored sealed
with the tenant's data key, its embedding beside it, sealed too (embeddings can be inverted to
approximate text). The vector is the one retrieval computed for the question when nothing was
masked, or computed here from the masked text, after the answer was posted and outside the
conversation's turn lock. With embeddings off none is stored and the report groups questions by
their words instead (TF-IDF over the lexical index's terms); a question kept without a vector
(or with another model's) is embedded by the first report that groups it, and the vector kept.

At most `max_per_tenant` questions are kept per organisation, and none for longer than
`retention`: the oldest and the expired are pruned at an organisation's first question in a
process and then every `prune_every`th (the pruning scans up to `max_per_tenant` rows, too much
for every question), so a process holds an organisation to `max_per_tenant + prune_every - 1`;
a report never shows a question older than the retention, pruned or not yet. An organisation's
deletion takes them with it.

Reporting never opens more than `max_grouped` questions (the period's newest): "sealed stays
sealed" means a report reads what was kept for it, never every message. Grouping is
knowledge/clusters.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import numpy as np

from parlour import sensitive
from parlour.crypto.vault import TenantCipher, Vault
from parlour.knowledge.clusters import DENSE_THRESHOLD, LEXICAL_THRESHOLD, group, lexical_vectors
from parlour.knowledge.embeddings import Embedder, Vectors, embed_off_loop
from parlour.knowledge.gap_repository import GapRepository
from parlour.knowledge.models import (
    GapCluster,
    GapKind,
    KnowledgeGapsReport,
    UnansweredQuestion,
)
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)
SAMPLES = 3


class KnowledgeGaps:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        *,
        embedder: Embedder | None,
        max_per_tenant: int = 5_000,
        retention: timedelta = timedelta(days=90),
        max_grouped: int = 2_000,
        prune_every: int = 50,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._embedder = embedder
        self._max_per_tenant = max_per_tenant
        self._retention = retention
        self._max_grouped = max_grouped
        self._prune_every = prune_every
        self._until_prune: dict[str, int] = {}  # per organisation: questions before the next
        self._clock = clock

    async def record(
        self,
        tenant_id: str,
        question_id: str,
        conversation_id: str,
        question: str,
        *,
        vector: Vectors | None = None,
        kind: GapKind = GapKind.ABSTAINED,
    ) -> None:
        """Keep a question the assistant could not answer, its sensitive values masked;
        `vector`, retrieval's embedding of it when it made one (used only when nothing was
        masked; else the masked text is embedded here, when embeddings are on). `kind`: it
        abstained, or it answered and the customer gave the answer a thumbs down; a question
        kept already is kept once, as it was first kept."""
        kept = sensitive.mask(question)
        if kept != question:
            vector = None  # retrieval's is of the unmasked text
        if vector is None:
            try:
                vectors = await embed_off_loop(self._embedder, [kept])
            except Exception:  # a remote embedder that failed: the report embeds it later
                log.warning(
                    "embedding an unanswered question failed", extra={"tenant_id": tenant_id}
                )
                vectors = None
            vector = None if vectors is None else vectors[0]
        now = self._clock()
        unanswered = UnansweredQuestion(tenant_id, question_id, conversation_id, now, kept, kind)
        model = self._embedder.model_id if self._embedder else None
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            repository = GapRepository(conn, cipher)
            if await repository.has(tenant_id, question_id):
                return
            await repository.add(unanswered, vector, model)
            if self._prune_due(tenant_id):
                await repository.prune(
                    tenant_id, before=now - self._retention, keep=self._max_per_tenant
                )

    def _prune_due(self, tenant_id: str) -> bool:
        """At the organisation's first question in this process, then every `prune_every`th."""
        left = self._until_prune.get(tenant_id, 0)
        self._until_prune[tenant_id] = (left - 1) % self._prune_every
        return left == 0

    async def question(self, tenant_id: str, question_id: str) -> UnansweredQuestion | None:
        """One unanswered question, opened (to prefill a new FAQ entry)."""

        async def read(cipher: TenantCipher) -> UnansweredQuestion | None:
            async with self._db.read(tenant_id) as conn:
                return await GapRepository(conn, cipher).get(tenant_id, question_id)

        return await self._vault.using(tenant_id, read)

    async def clusters(
        self, tenant_id: str, since: datetime, until: datetime, *, limit: int = 20
    ) -> KnowledgeGapsReport:
        """The questions asked in [since, until) that went unanswered, grouped by meaning and
        ranked by how many ask it (then by how lately): at most `limit` groups, each with its
        label question and up to three of its newest."""
        model = self._embedder.model_id if self._embedder else None
        kept_since = max(since, self._clock() - self._retention)  # none expired, pruned or not

        async def read(
            cipher: TenantCipher,
        ) -> tuple[int, list[tuple[UnansweredQuestion, Vectors | None]]]:
            async with self._db.read(tenant_id) as conn:
                repository = GapRepository(conn, cipher)
                count = await repository.count(tenant_id, kept_since, until)
                newest = await repository.newest(
                    tenant_id, kept_since, until, limit=self._max_grouped, model=model
                )
            return count, newest

        count, newest = await self._vault.using(tenant_id, read)
        questions = [q for q, _ in newest]
        vectors, threshold = await self._vectors(tenant_id, newest)
        groups = await asyncio.to_thread(group, vectors, threshold)
        clusters = [_cluster([questions[i] for i in members]) for members in groups]
        # Largest first; of equal size, the one asked most lately.
        clusters.sort(key=lambda c: (c.count, c.last_asked_at), reverse=True)
        return KnowledgeGapsReport(
            tenant_id=tenant_id,
            since=since,
            until=until,
            questions=count,
            considered=len(questions),
            grouped_by="meaning" if self._embedder else "words",
            clusters=tuple(clusters[:limit]),
        )

    async def _vectors(
        self, tenant_id: str, newest: list[tuple[UnansweredQuestion, Vectors | None]]
    ) -> tuple[Vectors, float]:
        texts = [q.question for q, _ in newest]
        if self._embedder is None:
            return await asyncio.to_thread(lexical_vectors, texts), LEXICAL_THRESHOLD
        dimension = self._embedder.dimension
        vectors = np.zeros((len(newest), dimension), dtype=np.float32)
        # Questions kept while embeddings were off, or by another model: embedded now, and
        # their vectors kept, so the next report does not embed them again.
        missing = []
        for i, (_, v) in enumerate(newest):
            if v is None or len(v) != dimension:
                missing.append(i)
            else:
                vectors[i] = v
        if missing:
            computed = await embed_off_loop(self._embedder, [texts[i] for i in missing])
            if computed is not None:
                vectors[missing] = computed
                ids = [newest[i][0].question_id for i in missing]
                await self._keep_vectors(tenant_id, ids, computed, self._embedder.model_id)
        return vectors, DENSE_THRESHOLD

    async def _keep_vectors(
        self, tenant_id: str, question_ids: list[str], vectors: Vectors, model: str
    ) -> None:
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            repository = GapRepository(conn, cipher)
            for question_id, vector in zip(question_ids, vectors, strict=True):
                await repository.set_vector(tenant_id, question_id, vector, model)


def _cluster(members: list[UnansweredQuestion]) -> GapCluster:
    """The group's centre labels it; its samples are its newest questions."""
    newest = sorted(members, key=lambda q: (q.asked_at, q.question_id), reverse=True)
    return GapCluster(
        count=len(members),
        label=members[0],
        samples=tuple(newest[:SAMPLES]),
        last_asked_at=newest[0].asked_at,
        unhelpful=sum(q.kind is GapKind.UNHELPFUL for q in members),
    )
