"""The knowledge page's uploads, imported in the background (knowledge/imports.py).

The upload form carries a token rendered into it: a second submit of the same form (a double
press, a reload of the answer) finds the job the first made. A submit answers with a redirect to
the knowledge page following that job (`?import=`); the page shows its state and progress, and
static/imports.js follows it without a reload through `…/knowledge/imports/{id}.json`, which reads
the session without counting a use, so a page left open never keeps a session alive (T-41).
Without script, the page shows the job's state as of each reload.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from parlour import logs
from parlour.audit.events import Actor, ActorType
from parlour.errors import InvalidInput, NotFound, ParlourError, PayloadTooLarge
from parlour.identity.errors import SessionRequired, WrongStage
from parlour.identity.policy import Permission
from parlour.knowledge.import_models import ImportJob, ImportState
from parlour.services import Services
from parlour.settings import Settings
from parlour.web.dashboard.pages import GoTo, go, member_page
from parlour.web.deps import ServicesDep, declares, request_context, services_of
from parlour.web.policy import COOKIE, Member
from parlour.web.request_limits import FORM_OVERHEAD_BYTES, body_limit

router = APIRouter(include_in_schema=False)
Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
SHOWN = 5  # the latest jobs the page lists


@dataclass(frozen=True, slots=True)
class ImportsPanel:
    """What the knowledge page shows of imports: the job it follows (the one just submitted,
    else the newest not ended), the latest few, and this render's form token."""

    token: str
    followed: ImportJob | None
    latest: list[ImportJob]


async def imports_panel(services: Services, tenant_id: str, request: Request) -> ImportsPanel:
    latest = await services.knowledge_imports.recent(tenant_id, SHOWN)
    wanted = request.query_params.get("import", "")[:64]
    followed = next((j for j in latest if j.job_id == wanted), None)
    if wanted and followed is None:
        try:
            followed = await services.knowledge_imports.get(tenant_id, wanted)
        except NotFound:
            followed = None
    if followed is None:
        followed = next((j for j in latest if not j.ended), None)
    return ImportsPanel(secrets.token_urlsafe(24), followed, latest)


def _form_upload_limit(settings: Settings) -> int:
    return settings.knowledge.max_upload_bytes + FORM_OVERHEAD_BYTES


@router.post("/dashboard/o/{tenant_id}/knowledge")
@body_limit(_form_upload_limit)
async def upload(who: Librarian, services: ServicesDep, request: Request) -> Response:
    """One file, as the /v1 import takes it: checked at once, then imported in the background;
    the answer is the knowledge page following its job."""
    form = await request.form()
    file = form.get("file")
    token = form.get("import_token")
    limit = services.knowledge.max_upload_bytes
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("Choose a file to upload.")
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"A file may be at most {limit} bytes.")
        job, _ = await services.knowledge_imports.submit(
            who.tenant_id,
            file.filename,
            data,
            actor=who.actor,
            publish=True,
            token=token if isinstance(token, str) and token else None,
        )
    except ParlourError as error:
        # The knowledge page is organisation.py's; it shows this panel (and imports it).
        from parlour.web.dashboard.organisation import _knowledge_page

        # The reasons by line the API gives in `details`, here as on the API.
        reasons = error.details.get("errors", [])
        return await _knowledge_page(request, who, services, error=error.message, reasons=reasons)
    return go(f"/dashboard/o/{who.tenant_id}/knowledge?import={job.job_id}#import")


def _watching(permission: Permission) -> Callable[..., Awaitable[Member]]:
    """A member of the path's organisation, for what a page's script asks by itself: the
    session is read without counting a use, so it never extends the idle time (T-41)."""

    @declares(f"member:{permission.value}")
    async def authorise(request: Request, tenant_id: str) -> Member:
        services = services_of(request)
        try:
            session = await services.sessions.active(request.cookies.get(COOKIE), touch=False)
        except (SessionRequired, WrongStage) as missing:
            raise GoTo("/dashboard/login") from missing
        context = request_context(request)
        membership = await services.authorisation.authorise(
            session, tenant_id, permission, source_ip=context["ip"]
        )
        logs.bind(tenant_id=membership.tenant_id)
        actor = Actor(
            ActorType.ACCOUNT, session.account.account_id, context["ip"], context["request_id"]
        )
        return Member(session, membership, actor)

    return authorise


Watcher = Annotated[Member, Depends(_watching(Permission.MANAGE_KNOWLEDGE))]


@router.get("/dashboard/o/{tenant_id}/knowledge/imports/{job_id}.json")
async def import_state(job_id: str, who: Watcher, services: ServicesDep) -> Response:
    """The job as the page's script shows it."""
    job = await services.knowledge_imports.get(who.tenant_id, job_id[:64])
    return JSONResponse(job_json(job), headers={"Cache-Control": "no-store"})


def job_json(job: ImportJob) -> dict[str, Any]:
    errors = [{"line": e.line, "message": e.message} for e in job.row_errors]
    return {
        "id": job.job_id,
        "state": job.state.value,
        "source": job.name,
        "progress": {"done": job.done, "total": job.total},
        "outcome": {
            "version": job.version,
            "published": job.publish,
            "imported": job.imported,
            "quarantined": job.quarantined,
            "errors": errors,
        }
        if job.state is ImportState.DONE
        else None,
        "error": {"code": job.error_code, "message": job.error_message, "errors": errors}
        if job.state is ImportState.FAILED
        else None,
    }
