"""SQL for knowledge imports run in the background (knowledge/imports.py): the jobs, read across
organisations to claim the next one, and the file each imports, sealed with its organisation's
data key and read under its scope, until the job ends.

Every method that concerns one organisation takes `tenant_id` first; the two that serve every
node's importer (`claimable`, `interrupted`) read ids and states across organisations, never a
file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import Actor, ActorType
from parlour.knowledge.import_models import ImportJob, ImportState
from parlour.knowledge.models import ImportReport, RowError
from parlour.storage.tables import knowledge_import_files, knowledge_imports

FILES = "knowledge_import_files"
MAX_ROW_ERRORS = 100  # kept with a job's outcome; the rest are counted, not listed
MAX_MESSAGE_CHARS = 500

jobs = knowledge_imports
files = knowledge_import_files


class ImportRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, job: ImportJob, token: str | None, file_sealed: bytes) -> None:
        await self._conn.execute(
            insert(jobs).values(
                job_id=job.job_id,
                tenant_id=job.tenant_id,
                name=job.name,
                kind=job.kind,
                sha256=job.sha256,
                size_bytes=job.size_bytes,
                publish=job.publish,
                submit_token=token,
                state=job.state.value,
                done=job.done,
                total=job.total,
                attempts=job.attempts,
                actor_type=job.actor.type.value,
                actor_id=job.actor.id[:200],
                source_ip=(job.actor.source_ip or None) and job.actor.source_ip[:64],
                request_id=(job.actor.request_id or None) and job.actor.request_id[:64],
                created_at=job.created_at,
            )
        )
        row = {"tenant_id": job.tenant_id, "job_id": job.job_id, "file_sealed": file_sealed}
        await self._conn.execute(insert(files).values(**row))

    async def get(self, tenant_id: str, job_id: str) -> ImportJob | None:
        row = (
            await self._conn.execute(
                select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id)
            )
        ).first()
        return None if row is None else _job(row)

    async def by_token(self, tenant_id: str, token: str) -> ImportJob | None:
        row = (
            await self._conn.execute(
                select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.submit_token == token)
            )
        ).first()
        return None if row is None else _job(row)

    async def in_flight(
        self, tenant_id: str, name: str, sha256: str, publish: bool
    ) -> ImportJob | None:
        """A job of the same file, to the same end, that has not ended yet."""
        row = (
            await self._conn.execute(
                select(jobs)
                .where(
                    jobs.c.tenant_id == tenant_id,
                    jobs.c.state.in_([ImportState.QUEUED.value, ImportState.RUNNING.value]),
                    jobs.c.name == name,
                    jobs.c.sha256 == sha256,
                    jobs.c.publish == publish,
                )
                .order_by(jobs.c.created_at)
                .limit(1)
            )
        ).first()
        return None if row is None else _job(row)

    async def recent(self, tenant_id: str, limit: int) -> list[ImportJob]:
        """The organisation's latest jobs, newest first."""
        rows = await self._conn.execute(
            select(jobs)
            .where(jobs.c.tenant_id == tenant_id)
            .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
            .limit(limit)
        )
        return [_job(row) for row in rows]

    async def claimable(self, limit: int) -> list[tuple[str, str]]:
        """(tenant id, job id) of the oldest queued jobs of organisations with none running."""
        running = jobs.alias("running")
        rows = await self._conn.execute(
            select(jobs.c.tenant_id, jobs.c.job_id)
            .where(
                jobs.c.state == ImportState.QUEUED.value,
                ~exists().where(
                    running.c.tenant_id == jobs.c.tenant_id,
                    running.c.state == ImportState.RUNNING.value,
                ),
            )
            .order_by(jobs.c.created_at, jobs.c.job_id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in rows]

    async def queued(self, tenant_id: str) -> int:
        """How many of the organisation's jobs wait to run."""
        found = await self._conn.scalar(
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.state == ImportState.QUEUED.value)
        )
        return int(found or 0)

    async def running(self, tenant_id: str) -> bool:
        found = await self._conn.scalar(
            select(jobs.c.job_id)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.state == ImportState.RUNNING.value)
            .limit(1)
        )
        return found is not None

    async def claim(self, tenant_id: str, job_id: str, *, now: datetime, until: datetime) -> bool:
        """Take a queued job to run until `until` (renewed as it goes); False if another node
        took it first."""
        result = await self._conn.execute(
            update(jobs)
            .where(
                jobs.c.tenant_id == tenant_id,
                jobs.c.job_id == job_id,
                jobs.c.state == ImportState.QUEUED.value,
            )
            .values(
                state=ImportState.RUNNING.value,
                started_at=now,
                lease_until=until,
                attempts=jobs.c.attempts + 1,
                done=0,
                total=0,
            )
        )
        return bool(result.rowcount)

    async def file(self, tenant_id: str, job_id: str) -> bytes | None:
        sealed = await self._conn.scalar(
            select(files.c.file_sealed).where(
                files.c.tenant_id == tenant_id, files.c.job_id == job_id
            )
        )
        return None if sealed is None else bytes(sealed)

    async def progressed(
        self, tenant_id: str, job_id: str, done: int, total: int, *, until: datetime
    ) -> None:
        await self._conn.execute(
            update(jobs)
            .where(
                jobs.c.tenant_id == tenant_id,
                jobs.c.job_id == job_id,
                jobs.c.state == ImportState.RUNNING.value,
            )
            .values(done=done, total=total, lease_until=until)
        )

    async def renew(self, tenant_id: str, job_id: str, until: datetime) -> None:
        await self._conn.execute(
            update(jobs)
            .where(
                jobs.c.tenant_id == tenant_id,
                jobs.c.job_id == job_id,
                jobs.c.state == ImportState.RUNNING.value,
            )
            .values(lease_until=until)
        )

    async def succeeded(
        self, tenant_id: str, job_id: str, report: ImportReport, *, now: datetime
    ) -> None:
        """The job is done, its file gone (in the transaction that stored its version)."""
        await self._conn.execute(
            update(jobs)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id)
            .values(
                state=ImportState.DONE.value,
                finished_at=now,
                lease_until=None,
                version=report.version,
                imported=report.imported,
                quarantined=len(report.quarantined),
                row_errors=[
                    {"line": e.line, "message": e.message[:MAX_MESSAGE_CHARS]}
                    for e in report.errors[:MAX_ROW_ERRORS]
                ],
            )
        )
        await self._drop_file(tenant_id, job_id)

    async def failed(
        self,
        tenant_id: str,
        job_id: str,
        code: str,
        message: str,
        *,
        now: datetime,
        row_errors: list[RowError] | None = None,
    ) -> bool:
        """The job failed: nothing of it was stored, and its file goes. False if there was no
        such job (its organisation was deleted meanwhile)."""
        result = await self._conn.execute(
            update(jobs)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id)
            .values(
                state=ImportState.FAILED.value,
                finished_at=now,
                lease_until=None,
                error_code=code[:64],
                error_message=message[:MAX_MESSAGE_CHARS],
                row_errors=[
                    {"line": e.line, "message": e.message[:MAX_MESSAGE_CHARS]}
                    for e in (row_errors or [])[:MAX_ROW_ERRORS]
                ],
            )
        )
        await self._drop_file(tenant_id, job_id)
        return bool(result.rowcount)

    async def take_back(
        self, tenant_id: str, job_id: str, *, lease_before: datetime | None
    ) -> bool:
        """An interrupted job, queued to be taken again from the start; only if it is still
        running (and, with `lease_before`, its lease ran out before then)."""
        where = [
            jobs.c.tenant_id == tenant_id,
            jobs.c.job_id == job_id,
            jobs.c.state == ImportState.RUNNING.value,
        ]
        if lease_before is not None:
            where.append(jobs.c.lease_until < lease_before)
        result = await self._conn.execute(
            update(jobs)
            .where(*where)
            .values(state=ImportState.QUEUED.value, lease_until=None, done=0, total=0)
        )
        return bool(result.rowcount)

    async def prune(self, before: datetime) -> None:
        """Every organisation's jobs that ended before `before` (their files went with them)."""
        await self._conn.execute(
            delete(jobs).where(
                jobs.c.state.in_([ImportState.DONE.value, ImportState.FAILED.value]),
                jobs.c.finished_at < before,
            )
        )

    async def interrupted(self, before: datetime | None) -> list[ImportJob]:
        """Running jobs whose lease ran out before `before` (every running job, if None: on
        one node, at its start, none of them can still be running)."""
        where = [jobs.c.state == ImportState.RUNNING.value]
        if before is not None:
            where.append(jobs.c.lease_until < before)
        rows = await self._conn.execute(select(jobs).where(*where))
        return [_job(row) for row in rows]

    async def _drop_file(self, tenant_id: str, job_id: str) -> None:
        await self._conn.execute(
            delete(files).where(files.c.tenant_id == tenant_id, files.c.job_id == job_id)
        )


def _job(row: Row[Any]) -> ImportJob:
    m = row._mapping
    return ImportJob(
        job_id=m["job_id"],
        tenant_id=m["tenant_id"],
        name=m["name"],
        kind=m["kind"],
        sha256=m["sha256"],
        size_bytes=m["size_bytes"],
        publish=bool(m["publish"]),
        state=ImportState(m["state"]),
        done=m["done"],
        total=m["total"],
        attempts=m["attempts"],
        actor=Actor(ActorType(m["actor_type"]), m["actor_id"], m["source_ip"], m["request_id"]),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        lease_until=m["lease_until"],
        version=m["version"],
        imported=m["imported"],
        quarantined=m["quarantined"],
        row_errors=tuple(RowError(e["line"], e["message"]) for e in m["row_errors"] or ()),
        error_code=m["error_code"],
        error_message=m["error_message"],
    )
