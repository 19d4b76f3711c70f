"""Knowledge imports as background jobs, with progress (issue 23, item 4).

An upload through the dashboard or `POST /v1/knowledge/imports` is checked at once (its name,
its size, its type by content: bad input is refused then, in the request) and becomes a job:
queued, then running on one node, then done or failed. The file waits sealed with the
organisation's data key, under its scope, and is deleted when the job ends, so any node can take
the job, a restart loses nothing, and memory holds no queued file. The job's own row, read across
organisations to claim the next job, holds only names, hashes, counts and states.

- **Claimed in the database.** A node takes the oldest queued job of an organisation that has
  none running, in a transaction that first serialises that organisation's claims (PostgreSQL:
  an advisory lock; SQLite has one writer), and moves it from queued to running only if it is
  still queued: two nodes never run the same job, and an organisation's jobs run one at a time,
  in order (a partial unique index holds that too). A node runs one job at a time.
- **Progress.** Passages are screened and embedded a step at a time (KnowledgeService.upload);
  after each step the job's `done` of `total` is written, and its lease renewed.
- **All or nothing.** The version, its entries, the job's outcome and the deletion of the file
  are one transaction: a job that fails at any point, or is interrupted, leaves the live version
  and its entries exactly as they were.
- **Interrupted.** A node that stops gives its job back to the queue; one that dies leaves it
  running with a lease that runs out, and any node (at start on SQLite's one node, at once) puts
  it back. A job interrupted `MAX_ATTEMPTS` times fails, saying so.
- **Bounded.** An organisation has at most `MAX_QUEUED` jobs waiting; another is refused until
  they have run (each holds its file, up to the upload limit).
- **A double submit is harmless.** A submit carries a token (the form's, rendered into it; an
  API caller's `Idempotency-Key`): the same token finds the first job. Without one, the same
  file to the same end while a job for it is queued or running finds that job too.
- **Audited.** `knowledge.import_started` and `knowledge.import_ended`, as the person who sent
  the file (names, hashes and counts only), around the upload's own `knowledge.uploaded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import Actor, KnowledgeImportEnded, KnowledgeImportStarted
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput, NotFound, ParlourError, RateLimited
from parlour.knowledge.import_models import ImportJob, ImportState
from parlour.knowledge.import_repository import FILES, ImportRepository
from parlour.knowledge.models import ImportReport, RowError
from parlour.knowledge.service import KnowledgeService
from parlour.storage.database import Database
from parlour.storage.dialect import serialise
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Periodic, detached

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)  # a running job's, renewed at every step and every RENEW_SECONDS
RENEW_SECONDS = 20.0
MAX_ATTEMPTS = 3
# An organisation's jobs waiting at once (each holds its file, up to the upload limit, sealed).
MAX_QUEUED = 10
CLAIM_BATCH = 10
RETENTION = timedelta(days=30)  # ended jobs are kept this long, then deleted
TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
INTERRUPTED = (
    f"The import was interrupted {MAX_ATTEMPTS} times (the server stopped while importing it); "
    "nothing of it was stored. Upload the file again."
)
UNEXPECTED = "The import failed on our side; nothing of it was stored. Try again."


class KnowledgeImports:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        knowledge: KnowledgeService,
        *,
        poll_seconds: float = 2.0,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._knowledge = knowledge
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._started = False
        self._moved = asyncio.Condition()  # told when this node's jobs progress or end
        self._rounds = Periodic(
            self.run_round,
            poll_seconds or 1.0,
            failed="running knowledge imports failed; the next round tries again",
            first_at_start=True,
        )

    def start(self) -> None:
        """Run imports on this node (none when `poll_seconds` is 0)."""
        if self._poll_seconds > 0:
            self._rounds.start()

    async def aclose(self) -> None:
        await self._rounds.aclose()

    async def submit(
        self,
        tenant_id: str,
        name: str,
        data: bytes,
        *,
        actor: Actor,
        publish: bool = True,
        token: str | None = None,
    ) -> tuple[ImportJob, bool]:
        """A job to import `data` as the source `name`, and whether it is new: the job a submit
        with the same token made, or one importing the same file to the same end that has not
        ended, is returned instead of a second. Bad input is refused here, before any job."""
        kind = self._knowledge.check_upload(name, data)
        name = name.strip()
        if token is not None and not TOKEN.match(token):
            raise InvalidInput("an idempotency key is 1 to 64 letters, digits, - or _")
        now = self._clock()
        job = ImportJob(
            job_id=time_ordered_id(),
            tenant_id=tenant_id,
            name=name,
            kind=kind.value,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            publish=publish,
            state=ImportState.QUEUED,
            done=0,
            total=0,
            attempts=0,
            actor=actor,
            created_at=now,
        )
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal(data, Place(FILES, job.job_id, "file"))
        async with self._db.transaction(tenant_id) as conn:
            await serialise(conn, _claims(tenant_id))
            jobs = ImportRepository(conn)
            if token is not None and (earlier := await jobs.by_token(tenant_id, token)):
                if (earlier.name, earlier.sha256) != (name, job.sha256):
                    raise Conflict("this form sent another file already; reload the page")
                return earlier, False
            if earlier := await jobs.in_flight(tenant_id, name, job.sha256, publish):
                return earlier, False
            if await jobs.queued(tenant_id) >= MAX_QUEUED:
                raise RateLimited(
                    f"{MAX_QUEUED} imports are waiting to run already; send this one after them"
                )
            await jobs.add(job, token, sealed)
        self._rounds.wake()
        return job, True

    async def get(self, tenant_id: str, job_id: str) -> ImportJob:
        async with self._db.read(tenant_id) as conn:
            job = await ImportRepository(conn).get(tenant_id, job_id)
        if job is None:
            raise NotFound("no such import")
        return job

    async def ended(self, tenant_id: str, job_id: str) -> ImportJob:
        """The job once it has ended: at once when this node ends it, within `poll_seconds`
        when another does. The caller bounds the wait."""
        while True:
            job = await self.get(tenant_id, job_id)
            if job.ended:
                return job
            async with self._moved:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds or 1.0):
                        await self._moved.wait()

    async def recent(self, tenant_id: str, limit: int = 5) -> list[ImportJob]:
        """The organisation's latest jobs, newest first."""
        async with self._db.read(tenant_id) as conn:
            return await ImportRepository(conn).recent(tenant_id, limit)

    async def run_round(self) -> int:
        """One round of this node's importer: interrupted jobs back in the queue (all running
        ones at start on SQLite's one node), then queued jobs run one after another until none
        is left that this node may take; how many it ran."""
        await self.recover(at_start=not self._started)
        self._started = True
        ran = 0
        while await self.run_next() is not None:
            ran += 1
        if ran:
            await self._prune()
        return ran

    async def run_next(self) -> ImportJob | None:
        """Claim the oldest job an organisation with none running has queued, and run it to its
        end; the job as it ended, or None if there was none to take."""
        job = await self.claim()
        if job is None:
            return None
        return await self._run(job)

    async def progressed(self, job: ImportJob, done: int, total: int) -> None:
        """Record that `done` of the job's `total` passages are screened and embedded."""
        now = self._clock()
        async with self._db.transaction(job.tenant_id) as conn:
            await ImportRepository(conn).progressed(
                job.tenant_id, job.job_id, done, total, until=now + LEASE
            )
        await self._tell()

    async def recover(self, *, at_start: bool = False) -> int:
        """Put interrupted jobs back in the queue (or fail those interrupted too often): on
        PostgreSQL those whose lease ran out; on SQLite, at its one node's start, every running
        one. How many it found."""
        now = self._clock()
        before = None if at_start and self._db.is_sqlite else now
        async with self._db.read() as conn:
            found = await ImportRepository(conn).interrupted(before)
        for job in found:
            await self._interrupted(job, before)
        return len(found)

    async def claim(self) -> ImportJob | None:
        """Take the next job to run (`run_next` takes and runs it): the oldest an organisation
        with none running has queued; None if there is none."""
        async with self._db.read() as conn:
            candidates = await ImportRepository(conn).claimable(CLAIM_BATCH)
        for tenant_id, job_id in candidates:
            now = self._clock()
            async with self._db.transaction(tenant_id) as conn:
                await serialise(conn, _claims(tenant_id))
                jobs = ImportRepository(conn)
                if await jobs.running(tenant_id):
                    continue
                if not await jobs.claim(tenant_id, job_id, now=now, until=now + LEASE):
                    continue  # another node took it
                job = await jobs.get(tenant_id, job_id)
                assert job is not None
                started = KnowledgeImportStarted(job_id, job.name, job.sha256, job.attempts)
                await self._audit.record(conn, tenant_id, started, job.actor)
            return job
        return None

    async def _run(self, job: ImportJob) -> ImportJob:
        renewing = detached(self._renewing(job), name="knowledge import lease")
        try:
            data = await self._vault.using(job.tenant_id, lambda c: self._file(job, c))

            async def progress(done: int, total: int) -> None:
                await self.progressed(job, done, total)

            async def finish(conn: AsyncConnection, report: ImportReport) -> None:
                await self._succeeded(conn, job, report)

            await self._knowledge.upload(
                job.tenant_id,
                job.name,
                data,
                actor=job.actor,
                publish=job.publish,
                progress=progress,
                finish=finish,
            )
        except asyncio.CancelledError:
            # The node is stopping: the job goes back to the queue for the next one to take.
            with contextlib.suppress(Exception):
                await self._interrupted(job, None)
            raise
        except ParlourError as error:
            await self._failed(job, error.code, error.message, _row_errors(error))
        except Exception:
            log.exception("a knowledge import failed")
            await self._failed(job, "internal_error", UNEXPECTED, [])
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._tell()
        return await self.get(job.tenant_id, job.job_id)

    async def _tell(self) -> None:
        async with self._moved:
            self._moved.notify_all()

    async def _file(self, job: ImportJob, cipher: TenantCipher) -> bytes:
        async with self._db.read(job.tenant_id) as conn:
            sealed = await ImportRepository(conn).file(job.tenant_id, job.job_id)
        if sealed is None:
            raise NotFound("the file of this import is gone")
        return cipher.open(sealed, Place(FILES, job.job_id, "file"))

    async def _renewing(self, job: ImportJob) -> None:
        """Keep the job's lease while a long step (reading a large PDF) runs."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with self._db.transaction(job.tenant_id) as conn:
                    until = self._clock() + LEASE
                    await ImportRepository(conn).renew(job.tenant_id, job.job_id, until)
            except Exception:
                log.exception("renewing a knowledge import's lease failed")

    async def _succeeded(self, conn: AsyncConnection, job: ImportJob, report: ImportReport) -> None:
        """In the transaction that stores the version: the job is done, its file deleted."""
        jobs = ImportRepository(conn)
        await jobs.succeeded(job.tenant_id, job.job_id, report, now=self._clock())
        ended = KnowledgeImportEnded(
            job.job_id,
            job.name,
            ImportState.DONE.value,
            report.version,
            report.imported,
            len(report.errors),
            len(report.quarantined),
            None,
        )
        await self._audit.record(conn, job.tenant_id, ended, job.actor)

    async def _failed(
        self, job: ImportJob, code: str, message: str, row_errors: list[RowError]
    ) -> None:
        async with self._db.transaction(job.tenant_id) as conn:
            await self._fail_in(conn, job, code, message, row_errors)

    async def _fail_in(
        self,
        conn: AsyncConnection,
        job: ImportJob,
        code: str,
        message: str,
        row_errors: list[RowError],
    ) -> None:
        failed = await ImportRepository(conn).failed(
            job.tenant_id, job.job_id, code, message, now=self._clock(), row_errors=row_errors
        )
        if not failed:
            return  # the organisation was deleted meanwhile, its jobs and audit chain with it
        ended = KnowledgeImportEnded(
            job.job_id, job.name, ImportState.FAILED.value, None, 0, len(row_errors), 0, code
        )
        await self._audit.record(conn, job.tenant_id, ended, job.actor)

    async def _interrupted(self, job: ImportJob, lease_before: datetime | None) -> None:
        """Back to the queue, or failed if it was interrupted too often; only if it is still
        running (and, with `lease_before`, its lease ran out before then)."""
        async with self._db.transaction(job.tenant_id) as conn:
            jobs = ImportRepository(conn)
            if not await jobs.take_back(job.tenant_id, job.job_id, lease_before=lease_before):
                return
            if job.attempts >= MAX_ATTEMPTS:
                await self._fail_in(conn, job, "interrupted", INTERRUPTED, [])

    async def _prune(self) -> None:
        async with self._db.transaction() as conn:
            await ImportRepository(conn).prune(self._clock() - RETENTION)


def _claims(tenant_id: str) -> str:
    return f"knowledge-imports:{tenant_id}"


def _row_errors(error: ParlourError) -> list[RowError]:
    """The reasons by line an error carries (a file with nothing usable in it)."""
    found = error.details.get("errors", [])
    if not isinstance(found, list):
        return []
    return [
        RowError(int(e.get("line", 0)), str(e.get("message", "")))
        for e in found
        if isinstance(e, dict)
    ]
