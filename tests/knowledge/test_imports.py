"""Knowledge imports as background jobs: queued, run with progress in steps, done with the
upload's figures or failed leaving the live version untouched; a double submit makes one job;
one job of an organisation at a time, claimed so that two nodes never run the same one; an
interrupted job is put back and resumed (issue 23, item 4).

Past 400 lines as one specification: the import job's life, from submit to its end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from parlour.errors import Conflict, InvalidInput, NotFound, RateLimited, UnsupportedMediaType
from parlour.knowledge.embeddings import Vectors, shared_minilm
from parlour.knowledge.import_models import ImportJob, ImportState
from parlour.knowledge.imports import MAX_ATTEMPTS, MAX_QUEUED, KnowledgeImports
from parlour.knowledge.service import STEP, KnowledgeService
from parlour.services import Services
from parlour.storage.tables import knowledge_import_files
from parlour.storage.types import utcnow
from tests.support import seed
from tests.support.clock import SetClock


@pytest.fixture(autouse=True)
async def no_job_left_queued(backend: Services) -> AsyncIterator[None]:
    """Jobs are claimed across organisations, and PostgreSQL's database is the whole run's: a
    test starts and ends with no job queued or running, its own or another test's."""
    await node(backend, clock=lambda: utcnow() + timedelta(days=1)).recover()
    while await backend.knowledge_imports.run_next() is not None:
        pass
    yield
    while await backend.knowledge_imports.run_next() is not None:
        pass


def faq_of(rows: int, *, prefix: str = "Question") -> bytes:
    lines = ["question,answer"] + [f"{prefix} {i}?,Answer {i}." for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def node(
    services: Services, *, knowledge: KnowledgeService | None = None, **kw: object
) -> KnowledgeImports:
    """Another node's importer on the same database and keys (or the same node's, rebuilt)."""
    return KnowledgeImports(
        services.db,
        services.vault,
        services.audit,
        knowledge or services.knowledge,
        **kw,  # type: ignore[arg-type]
    )


def watching(
    imports: KnowledgeImports, then: Callable[[ImportJob, int, int], Awaitable[None]]
) -> Callable[[ImportJob, int, int], Awaitable[None]]:
    """`imports.progressed` that records progress, then calls `then`."""
    recorded = imports.progressed

    async def progressed(job: ImportJob, done: int, total: int) -> None:
        await recorded(job, done, total)
        await then(job, done, total)

    return progressed


async def entries_of(services: Services, tenant_id: str) -> list[tuple[str, str, str]]:
    return sorted(
        (e.entry_id, e.question, e.answer) for e in await services.knowledge.faq_entries(tenant_id)
    )


async def actions(services: Services, tenant_id: str) -> list[str]:
    return [str(e["action"]) async for e in services.audit.export(tenant_id)]


async def test_an_upload_is_queued_then_run_in_steps_to_done_with_the_reports_figures(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await seed.organisation(backend)  # version 1, live
    imports = backend.knowledge_imports
    rows = STEP + 44
    data = faq_of(rows) + b",no question\n"
    job, created = await imports.submit(org.tenant_id, "faq.csv", data, actor=seed.ACTOR)
    assert created
    assert (job.state, job.done, job.total, job.kind) == (ImportState.QUEUED, 0, 0, "faq_csv")

    seen: list[tuple[ImportState, int, int]] = []

    async def look(job: ImportJob, done: int, total: int) -> None:
        stored = await imports.get(job.tenant_id, job.job_id)
        seen.append((stored.state, stored.done, stored.total))

    monkeypatch.setattr(imports, "progressed", watching(imports, look))
    ended = await imports.run_next()

    # Progress moved as each step of passages was screened and embedded, and was stored.
    running = ImportState.RUNNING
    assert seen == [(running, 0, rows), (running, STEP, rows), (running, rows, rows)]
    assert ended is not None
    assert ended.state is ImportState.DONE
    assert (ended.version, ended.imported, ended.quarantined, ended.attempts) == (2, rows, 0, 1)
    assert [(e.line, e.message) for e in ended.row_errors] == [(rows + 2, "the question is empty")]
    assert ended.finished_at is not None
    assert len(await backend.knowledge.faq_entries(org.tenant_id)) == rows
    assert await backend.knowledge.published_version(org.tenant_id) == 2
    assert await imports.run_next() is None  # nothing else is queued


async def test_bad_input_is_refused_when_submitted_and_makes_no_job(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    imports = backend.knowledge_imports
    with pytest.raises(UnsupportedMediaType):
        await imports.submit(org.tenant_id, "faq.csv", b"PK\x03\x04zip", actor=seed.ACTOR)
    with pytest.raises(InvalidInput, match="file name"):
        await imports.submit(org.tenant_id, "../faq.csv", faq_of(1), actor=seed.ACTOR)
    with pytest.raises(InvalidInput, match="idempotency key"):
        await imports.submit(org.tenant_id, "faq.csv", faq_of(1), actor=seed.ACTOR, token="a b")
    assert await imports.recent(org.tenant_id) == []


async def test_a_double_submit_makes_one_job_and_the_second_finds_the_first(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    imports = backend.knowledge_imports
    data = faq_of(3)
    first, created = await imports.submit(
        org.tenant_id, "faq.csv", data, actor=seed.ACTOR, token="form-1"
    )
    again, created_again = await imports.submit(
        org.tenant_id, "faq.csv", data, actor=seed.ACTOR, token="form-1"
    )
    assert created
    assert not created_again
    assert again.job_id == first.job_id
    # Without a token (another tab, an API retry): the same file while its job is queued.
    same_file, made = await imports.submit(org.tenant_id, "faq.csv", data, actor=seed.ACTOR)
    assert (same_file.job_id, made) == (first.job_id, False)
    # The form's token with another file is refused rather than taken for the first.
    with pytest.raises(Conflict):
        await imports.submit(org.tenant_id, "faq.csv", faq_of(4), actor=seed.ACTOR, token="form-1")
    assert [j.job_id for j in await imports.recent(org.tenant_id)] == [first.job_id]

    await imports.run_next()
    # Once it has ended, the same form still shows that job; a new upload of the file is new.
    shown, made = await imports.submit(
        org.tenant_id, "faq.csv", data, actor=seed.ACTOR, token="form-1"
    )
    assert (shown.job_id, shown.state, made) == (first.job_id, ImportState.DONE, False)
    later, made = await imports.submit(org.tenant_id, "faq.csv", data, actor=seed.ACTOR)
    assert made
    assert later.job_id != first.job_id


class FailingHalfway:
    """all-MiniLM-L6-v2 for the first step's passages, then an error."""

    def __init__(self) -> None:
        self.model = shared_minilm()
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def dimension(self) -> int:
        return self.model.dimension

    @property
    def measured(self) -> bool:
        return self.model.measured

    def embed(self, texts: list[str]) -> Vectors:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("the embedder broke")
        return self.model.embed(texts)


async def test_an_organisation_has_at_most_ten_imports_waiting(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    imports = backend.knowledge_imports
    for i in range(MAX_QUEUED):
        await imports.submit(org.tenant_id, f"faq-{i}.csv", faq_of(1), actor=seed.ACTOR)
    with pytest.raises(RateLimited):
        await imports.submit(org.tenant_id, "one-more.csv", faq_of(1), actor=seed.ACTOR)
    assert await imports.run_next() is not None
    await imports.submit(org.tenant_id, "one-more.csv", faq_of(1), actor=seed.ACTOR)


async def test_a_failed_import_leaves_the_live_version_and_its_entries_untouched(
    backend: Services,
) -> None:
    org = await seed.organisation(backend)  # version 1, live
    before = await entries_of(backend, org.tenant_id)
    versions_before = await backend.knowledge.versions(org.tenant_id)
    failing = KnowledgeService(
        backend.db,
        backend.vault,
        backend.audit,
        max_upload_bytes=10_000_000,
        max_entries=10_000,
        max_field_chars=8_000,
        embedder=FailingHalfway(),
        tally=backend.tally,
    )
    imports = node(backend, knowledge=failing)
    progress: list[int] = []

    async def note(job: ImportJob, done: int, total: int) -> None:
        progress.append(done)

    imports.progressed = watching(imports, note)  # type: ignore[method-assign]
    _job, _ = await imports.submit(
        org.tenant_id, "faq.csv", faq_of(STEP * 2), actor=seed.ACTOR, token="t"
    )
    ended = await imports.run_next()

    assert progress == [0, STEP]  # it failed halfway, after the first step
    assert ended is not None
    assert ended.state is ImportState.FAILED
    assert ended.error_code == "internal_error"
    assert ended.error_message is not None
    assert "nothing of it was stored" in ended.error_message
    assert "embedder broke" not in ended.error_message  # nothing of the cause leaks to the page
    assert await entries_of(backend, org.tenant_id) == before
    assert await backend.knowledge.versions(org.tenant_id) == versions_before
    assert await backend.knowledge.published_version(org.tenant_id) == 1
    async with backend.db.read(org.tenant_id) as conn:
        assert (await conn.execute(select(knowledge_import_files))).all() == []


async def test_a_file_with_nothing_usable_fails_its_job_with_the_reasons_by_line(
    backend: Services,
) -> None:
    org = await seed.organisation(backend)
    before = await entries_of(backend, org.tenant_id)
    imports = backend.knowledge_imports
    data = b"question,answer\n,no question\nNo answer?,\n"
    await imports.submit(org.tenant_id, "faq.csv", data, actor=seed.ACTOR)
    ended = await imports.run_next()
    assert ended is not None
    assert (ended.state, ended.error_code) == (ImportState.FAILED, "invalid_input")
    assert [(e.line, e.message) for e in ended.row_errors] == [
        (2, "the question is empty"),
        (3, "the answer is empty"),
    ]
    assert await entries_of(backend, org.tenant_id) == before
    assert await backend.knowledge.published_version(org.tenant_id) == 1


async def test_one_job_of_an_organisation_runs_at_a_time_while_another_node_takes_others(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await seed.organisation(backend, name="A", faq=None)
    b = await seed.organisation(backend, name="B", faq=None)
    imports = backend.knowledge_imports
    a1, _ = await imports.submit(a.tenant_id, "one.csv", faq_of(2), actor=seed.ACTOR)
    a2, _ = await imports.submit(a.tenant_id, "two.csv", faq_of(3), actor=seed.ACTOR)
    b1, _ = await imports.submit(b.tenant_id, "faq.csv", faq_of(4), actor=seed.ACTOR)
    other = node(backend)
    taken_meanwhile: list[str | None] = []

    async def meanwhile(job: ImportJob, done: int, total: int) -> None:
        if done == 0 and job.job_id == a1.job_id:
            # While A's first job runs here, the other node takes B's, never A's second.
            for _ in range(2):
                ran = await other.run_next()
                taken_meanwhile.append(ran.job_id if ran else None)

    monkeypatch.setattr(imports, "progressed", watching(imports, meanwhile))
    first = await imports.run_next()
    assert first is not None
    assert first.job_id == a1.job_id
    assert taken_meanwhile == [b1.job_id, None]
    second = await imports.run_next()
    assert second is not None
    assert second.job_id == a2.job_id
    assert [v.number for v in await backend.knowledge.versions(a.tenant_id)] == [2, 1]
    assert (await backend.knowledge.versions(a.tenant_id))[0].note == "uploaded two.csv"


async def test_two_nodes_claiming_at_once_never_run_the_same_job(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    job, _ = await backend.knowledge_imports.submit(
        org.tenant_id, "faq.csv", faq_of(2), actor=seed.ACTOR
    )
    ran = await asyncio.gather(*(node(backend).run_next() for _ in range(4)))
    assert [(j.job_id, j.attempts) for j in ran if j is not None] == [(job.job_id, 1)]
    assert await actions(backend, org.tenant_id) == [
        "tenant.created",
        "tenant.origin_allowed",
        "api_key.created",
        "knowledge.import_started",
        "knowledge.uploaded",
        "knowledge.published",
        "knowledge.import_ended",
    ]


async def test_an_interrupted_job_is_resumed_and_fails_after_too_many_interruptions(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    clock = SetClock()
    dying = node(backend, clock=clock)
    _job, _ = await dying.submit(org.tenant_id, "faq.csv", faq_of(2), actor=seed.ACTOR)
    claimed = await dying.claim()  # … and its node dies before running it
    assert claimed is not None
    assert claimed.state is ImportState.RUNNING

    restarted = node(backend, clock=clock)
    # SQLite has one node: at its start, every running job is an interrupted one. On
    # PostgreSQL another node may be running it, until its lease runs out.
    assert await restarted.recover(at_start=True) == (1 if backend.db.is_sqlite else 0)
    clock.advance(minutes=2)
    await restarted.recover()
    ended = await restarted.run_next()
    assert ended is not None
    assert (ended.state, ended.attempts, ended.imported) == (ImportState.DONE, 2, 2), ended
    audited = await actions(backend, org.tenant_id)
    assert audited.count("knowledge.import_started") == 2
    assert audited.count("knowledge.import_ended") == 1

    again, _ = await restarted.submit(org.tenant_id, "faq.csv", faq_of(3), actor=seed.ACTOR)
    for _ in range(MAX_ATTEMPTS):
        assert await restarted.claim() is not None
        clock.advance(minutes=2)
        await restarted.recover()
    failed = await restarted.get(org.tenant_id, again.job_id)
    assert (failed.state, failed.error_code) == (ImportState.FAILED, "interrupted")
    assert failed.error_message is not None
    assert "Upload the file again" in failed.error_message
    assert await backend.knowledge.published_version(org.tenant_id) == 1


async def test_a_node_that_stops_mid_import_puts_its_job_back_in_the_queue(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await seed.organisation(backend, faq=None)
    imports = node(backend)
    reached = asyncio.Event()

    async def stall(job: ImportJob, done: int, total: int) -> None:
        reached.set()
        await asyncio.Event().wait()  # until cancelled

    monkeypatch.setattr(imports, "progressed", watching(imports, stall))
    job, _ = await imports.submit(org.tenant_id, "faq.csv", faq_of(2), actor=seed.ACTOR)
    running = asyncio.create_task(imports.run_next())
    async with asyncio.timeout(10):
        await reached.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    back = await imports.get(org.tenant_id, job.job_id)
    assert (back.state, back.done, back.total) == (ImportState.QUEUED, 0, 0)
    assert await backend.knowledge.versions(org.tenant_id) == []


async def test_a_job_is_seen_only_by_its_own_organisation(backend: Services) -> None:
    a = await seed.organisation(backend, name="A", faq=None)
    b = await seed.organisation(backend, name="B", faq=None)
    job, _ = await backend.knowledge_imports.submit(
        a.tenant_id, "faq.csv", faq_of(1), actor=seed.ACTOR, token="same"
    )
    with pytest.raises(NotFound):
        await backend.knowledge_imports.get(b.tenant_id, job.job_id)
    assert await backend.knowledge_imports.recent(b.tenant_id) == []
    # B's form token is B's own: the same token there makes B's own job.
    theirs, created = await backend.knowledge_imports.submit(
        b.tenant_id, "faq.csv", faq_of(1), actor=seed.ACTOR, token="same"
    )
    assert created
    assert theirs.job_id != job.job_id


async def test_the_waiting_file_is_sealed_and_the_audit_names_the_job_without_content(
    backend: Services,
) -> None:
    """T-89: the import's audit events carry names, hashes and counts, never the file's text;
    the file waiting for its job is sealed with the organisation's key, and deleted after."""
    org = await seed.organisation(backend, faq=None)
    secret_answer = "Our vault code word is periwinkle"
    data = f"question,answer\nWhat is the word?,{secret_answer}\n".encode()
    job, _ = await backend.knowledge_imports.submit(
        org.tenant_id, "faq.csv", data, actor=seed.ACTOR
    )
    async with backend.db.read(org.tenant_id) as conn:
        stored = (await conn.execute(select(knowledge_import_files.c.file_sealed))).scalar_one()
    assert b"periwinkle" not in bytes(stored)
    await backend.knowledge_imports.run_next()
    exported = [e async for e in backend.audit.export(org.tenant_id)]
    started = next(e for e in exported if e["action"] == "knowledge.import_started")
    ended = next(e for e in exported if e["action"] == "knowledge.import_ended")
    assert started["data"] == {
        "job_id": job.job_id,
        "source": "faq.csv",
        "sha256": job.sha256,
        "attempt": 1,
    }
    assert ended["data"] == {
        "job_id": job.job_id,
        "source": "faq.csv",
        "outcome": "done",
        "version": 1,
        "entries": 1,
        "rejected_rows": 0,
        "quarantined": 0,
        "reason": None,
    }
    assert ended["actor"] == {"type": "system", "id": "tests"}
    assert "periwinkle" not in json.dumps(exported)
    async with backend.db.read(org.tenant_id) as conn:
        assert (await conn.execute(select(knowledge_import_files))).all() == []
