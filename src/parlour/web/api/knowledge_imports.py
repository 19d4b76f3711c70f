"""Knowledge imports as background jobs: `POST …/knowledge/imports?name=` takes the raw file (read
as it streams, bounded as `PUT …/sources/{name}` is, T-62), checks what can be checked at once
(the name, the size, the type by content: the JSON error shape if not), and answers 202 with the
job; `GET …/imports/{id}` follows it: its state, its progress (passages screened and embedded of
those the file holds) and, once it has ended, its outcome or why it failed. An `Idempotency-Key`
header makes a retried request find the job the first one made; the same file to the same end,
while a job for it is queued or running, does too.

`PUT …/sources/{name}` stays as it was, answering when the import is done, for callers that want
the report in the answer and send small files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.keys.models import ApiKey, Scope
from parlour.knowledge.import_models import ImportJob, ImportState
from parlour.settings import Settings
from parlour.web.api.client_keys import actor_for
from parlour.web.api.knowledge import RowErrorOut, read_bounded
from parlour.web.deps import ServicesDep, api_key
from parlour.web.policy import Member, member
from parlour.web.request_limits import body_limit

router = APIRouter(tags=["knowledge"])
KeyDep = Annotated[ApiKey, Depends(api_key(Scope.WRITE_KNOWLEDGE))]
Librarian = Annotated[Member, Depends(member(Permission.MANAGE_KNOWLEDGE))]
SourceName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\]+$",
        description="The source's name: the job replaces the source of this name.",
    ),
]
Publish = Annotated[bool, Query(description="Publish the version it makes (else a draft).")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=64,
        description="1 to 64 letters, digits, - or _: a request sent again with the same key "
        "finds the job the first one made.",
    ),
]
JobId = Annotated[str, Path(min_length=1, max_length=64)]
RECENT = 20


def _upload_limit(settings: Settings) -> int:
    return settings.knowledge.max_upload_bytes


class ProgressOut(BaseModel):
    done: int = Field(description="Passages screened and embedded so far.")
    total: int = Field(description="Passages the file holds (0 until it has been read).")


class OutcomeOut(BaseModel):
    version: int
    published: bool
    imported: int
    errors: list[RowErrorOut]
    quarantined: int = Field(description="Passages held back for review.")


class ImportErrorOut(BaseModel):
    code: str
    message: str
    errors: list[RowErrorOut]


class ImportLinks(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    versions: str
    review_queue: str


class ImportOut(BaseModel):
    id: str
    state: ImportState
    source: str
    kind: str
    sha256: str
    size_bytes: int
    publish: bool
    progress: ProgressOut
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    outcome: OutcomeOut | None = Field(description="Once done: what the import made.")
    error: ImportErrorOut | None = Field(description="Once failed: why; nothing was stored.")
    links: ImportLinks


def _out(job: ImportJob, base: str) -> ImportOut:
    errors = [RowErrorOut(line=e.line, message=e.message) for e in job.row_errors]
    outcome = None
    if job.state is ImportState.DONE:
        outcome = OutcomeOut(
            version=job.version or 0,
            published=job.publish,
            imported=job.imported or 0,
            errors=errors,
            quarantined=job.quarantined or 0,
        )
    error = None
    if job.state is ImportState.FAILED:
        error = ImportErrorOut(
            code=job.error_code or "internal_error", message=job.error_message or "", errors=errors
        )
    return ImportOut(
        id=job.job_id,
        state=job.state,
        source=job.name,
        kind=job.kind,
        sha256=job.sha256,
        size_bytes=job.size_bytes,
        publish=job.publish,
        progress=ProgressOut(done=job.done, total=job.total),
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        outcome=outcome,
        error=error,
        links=ImportLinks(
            self_=f"{base}/knowledge/imports/{job.job_id}",
            versions=f"{base}/knowledge/versions",
            review_queue=f"{base}/review-queue" if base != "/v1" else "/v1/knowledge/review-queue",
        ),
    )


def _accepted(response: Response, job: ImportJob, base: str) -> ImportOut:
    shown = _out(job, base)
    response.headers["Location"] = shown.links.self_
    return shown


@router.post("/v1/knowledge/imports", status_code=202, response_model=ImportOut)
@body_limit(_upload_limit)
async def start_import(
    request: Request,
    response: Response,
    services: ServicesDep,
    key: KeyDep,
    name: SourceName,
    idempotency_key: IdempotencyKey = None,
    publish: Publish = True,
) -> ImportOut:
    """Import a source (the raw file as the body) in the background: it replaces the source of
    the same name in a new version, published unless `publish=false`. Answers with the job at
    once; follow it at `links.self`."""
    data = await read_bounded(request, services.knowledge.max_upload_bytes)
    job, _ = await services.knowledge_imports.submit(
        key.tenant_id,
        name,
        data,
        actor=actor_for(key, request),
        publish=publish,
        token=idempotency_key,
    )
    return _accepted(response, job, "/v1")


@router.get("/v1/knowledge/imports", response_model=list[ImportOut])
async def list_imports(services: ServicesDep, key: KeyDep) -> list[ImportOut]:
    """The organisation's latest imports, newest first."""
    return [_out(j, "/v1") for j in await services.knowledge_imports.recent(key.tenant_id, RECENT)]


@router.get("/v1/knowledge/imports/{job_id}", response_model=ImportOut)
async def get_import(job_id: JobId, services: ServicesDep, key: KeyDep) -> ImportOut:
    return _out(await services.knowledge_imports.get(key.tenant_id, job_id), "/v1")


# The dashboard's twins, for members whose role manages knowledge (T-44 matrix); the dashboard's
# knowledge page follows a job through the GET.


@router.post(
    "/v1/organisations/{tenant_id}/knowledge/imports",
    status_code=202,
    response_model=ImportOut,
)
@body_limit(_upload_limit)
async def start_import_as_member(
    request: Request,
    response: Response,
    services: ServicesDep,
    who: Librarian,
    name: SourceName,
    idempotency_key: IdempotencyKey = None,
    publish: Publish = True,
) -> ImportOut:
    """As `POST /v1/knowledge/imports`, by a signed-in member."""
    data = await read_bounded(request, services.knowledge.max_upload_bytes)
    job, _ = await services.knowledge_imports.submit(
        who.tenant_id, name, data, actor=who.actor, publish=publish, token=idempotency_key
    )
    return _accepted(response, job, f"/v1/organisations/{who.tenant_id}")


@router.get("/v1/organisations/{tenant_id}/knowledge/imports", response_model=list[ImportOut])
async def list_imports_as_member(services: ServicesDep, who: Librarian) -> list[ImportOut]:
    base = f"/v1/organisations/{who.tenant_id}"
    return [_out(j, base) for j in await services.knowledge_imports.recent(who.tenant_id, RECENT)]


@router.get("/v1/organisations/{tenant_id}/knowledge/imports/{job_id}", response_model=ImportOut)
async def get_import_as_member(job_id: JobId, services: ServicesDep, who: Librarian) -> ImportOut:
    job = await services.knowledge_imports.get(who.tenant_id, job_id)
    return _out(job, f"/v1/organisations/{who.tenant_id}")
