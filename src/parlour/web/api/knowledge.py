"""An organisation's backend managing its knowledge: uploading sources, versions, the queue.

Uploads are the raw file as the request body, read as it streams: a declared length over the
limit is refused before any of the body is read, and an undeclared one as soon as it passes the
limit, so a 2 GB upload costs Parlour at most the limit in memory (T-62). The file itself is never
stored or served back; only its passages are, sealed (T-63). Deciding what screening held back
is an administrator's act (CLI, dashboard), not an API key's: a stolen key must not be able to
approve what it uploaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from parlour.errors import InvalidInput, PayloadTooLarge
from parlour.identity.policy import Permission
from parlour.keys.models import ApiKey, Scope
from parlour.knowledge.models import ImportReport, QuarantinedItem, Source
from parlour.services import Services
from parlour.settings import Settings
from parlour.web.api.client_keys import actor_for
from parlour.web.deps import ServicesDep, api_key
from parlour.web.policy import Member, member
from parlour.web.request_limits import body_limit

router = APIRouter(tags=["knowledge"])
KeyDep = Annotated[ApiKey, Depends(api_key(Scope.WRITE_KNOWLEDGE))]
SourceName = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^/\\]+$")]
VersionNumber = Annotated[int, Path(ge=1)]


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    sha256: str
    size_bytes: int
    uploaded_by: str
    created_at: datetime
    source_url: str | None = None

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls.model_validate(source)


class RowErrorOut(BaseModel):
    line: int
    message: str


class HeldOut(BaseModel):
    item_id: str
    where: str
    reasons: list[str]

    @classmethod
    def of(cls, item: QuarantinedItem) -> HeldOut:
        return cls(item_id=item.item_id, where=item.locator, reasons=list(item.reasons))


class UploadOut(BaseModel):
    version: int
    published: bool
    source: SourceOut
    imported: int
    errors: list[RowErrorOut]
    held_for_review: list[HeldOut]


class VersionOut(BaseModel):
    number: int
    note: str
    created_by: str
    created_at: datetime
    published: bool
    sources: list[SourceOut]


class DiffOut(BaseModel):
    since: int
    to: int
    added: list[SourceOut]
    removed: list[SourceOut]
    changed: list[SourceOut]


class PublishedOut(BaseModel):
    version: int
    published: bool


def _upload_limit(settings: Settings) -> int:
    return settings.knowledge.max_upload_bytes


async def read_bounded(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("Content-Length must be a number")
        if int(declared) > limit:
            raise PayloadTooLarge(f"an upload may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"an upload may be at most {limit} bytes")
    return bytes(body)


@router.put("/v1/knowledge/sources/{name}", status_code=201, response_model=UploadOut)
@body_limit(_upload_limit)
async def upload_source(
    name: SourceName,
    request: Request,
    services: ServicesDep,
    key: KeyDep,
    publish: Annotated[bool, Query()] = True,
    source_url: Annotated[str | None, Query(max_length=4_000)] = None,
) -> UploadOut:
    """Upload a source (the raw file as the body), replacing the source of the same name in a
    new version; published at once unless `publish=false`. Types: .csv and .json FAQs, .md,
    .txt, .html, .pdf, and .json knowledge graphs, decided by content. `source_url`: its page
    on the organisation's site (https), which answers drawn from it link to."""
    data = await read_bounded(request, services.knowledge.max_upload_bytes)
    report = await services.knowledge.upload(
        key.tenant_id,
        name,
        data,
        actor=actor_for(key, request),
        publish=publish,
        source_url=source_url,
    )
    return _upload_out(report)


def _upload_out(report: ImportReport) -> UploadOut:
    return UploadOut(
        version=report.version,
        published=report.published,
        source=SourceOut.of(report.source),
        imported=report.imported,
        errors=[RowErrorOut(line=e.line, message=e.message) for e in report.errors],
        held_for_review=[HeldOut.of(item) for item in report.quarantined],
    )


@router.delete("/v1/knowledge/sources/{name}", response_model=PublishedOut)
async def remove_source(
    name: SourceName,
    request: Request,
    services: ServicesDep,
    key: KeyDep,
    publish: Annotated[bool, Query()] = True,
) -> PublishedOut:
    """A new version without this source."""
    number = await services.knowledge.remove_source(
        key.tenant_id, name, actor=actor_for(key, request), publish=publish
    )
    return PublishedOut(version=number, published=publish)


@router.get("/v1/knowledge/versions", response_model=list[VersionOut])
async def list_versions(services: ServicesDep, key: KeyDep) -> list[VersionOut]:
    return await _versions(services, key.tenant_id)


async def _versions(services: Services, tenant_id: str) -> list[VersionOut]:
    return [
        VersionOut(
            number=v.number,
            note=v.note,
            created_by=v.created_by,
            created_at=v.created_at,
            published=v.published,
            sources=[SourceOut.of(s) for s in v.sources],
        )
        for v in await services.knowledge.versions(tenant_id)
    ]


@router.post("/v1/knowledge/versions/{number}/publish", response_model=PublishedOut)
async def publish_version(
    number: VersionNumber, request: Request, services: ServicesDep, key: KeyDep
) -> PublishedOut:
    """Make a version live; an earlier one, to roll back."""
    await services.knowledge.publish(key.tenant_id, number, actor=actor_for(key, request))
    return PublishedOut(version=number, published=True)


@router.get("/v1/knowledge/diff", response_model=DiffOut)
async def diff_versions(
    services: ServicesDep,
    key: KeyDep,
    since: Annotated[int, Query(ge=1)],
    to: Annotated[int, Query(ge=1)],
) -> DiffOut:
    """Sources added, removed and changed (by content hash) between two versions."""
    diff = await services.knowledge.diff(key.tenant_id, since, to)
    return DiffOut(
        since=diff.since,
        to=diff.to,
        added=[SourceOut.of(s) for s in diff.added],
        removed=[SourceOut.of(s) for s in diff.removed],
        changed=[SourceOut.of(after) for _, after in diff.changed],
    )


@router.get("/v1/knowledge/review-queue", response_model=list[HeldOut])
async def review_queue(services: ServicesDep, key: KeyDep) -> list[HeldOut]:
    """What screening held back, with where and why; an administrator decides."""
    return [HeldOut.of(item) for item in await services.knowledge.review.quarantined(key.tenant_id)]


# The dashboard's twins, for members whose role manages knowledge (T-44 matrix).
Librarian = Annotated[Member, Depends(member(Permission.MANAGE_KNOWLEDGE))]


@router.put(
    "/v1/organisations/{tenant_id}/knowledge/sources/{name}",
    status_code=201,
    response_model=UploadOut,
)
@body_limit(_upload_limit)
async def upload_source_as_member(
    name: SourceName,
    request: Request,
    services: ServicesDep,
    who: Librarian,
    publish: Annotated[bool, Query()] = True,
) -> UploadOut:
    """As `PUT /v1/knowledge/sources/{name}`, by a signed-in member."""
    data = await read_bounded(request, services.knowledge.max_upload_bytes)
    report = await services.knowledge.upload(
        who.tenant_id, name, data, actor=who.actor, publish=publish
    )
    return _upload_out(report)


@router.get("/v1/organisations/{tenant_id}/knowledge/versions", response_model=list[VersionOut])
async def list_versions_as_member(services: ServicesDep, who: Librarian) -> list[VersionOut]:
    return await _versions(services, who.tenant_id)
