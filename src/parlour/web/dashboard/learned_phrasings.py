"""What customers taught the organisation's FAQ entries by picking them among the assistant's
choices (knowledge/learned.py): a page listing the learned phrasings per entry, and for each a
way to remove it (it no longer finds its entry) or keep it as a written phrasing of the entry
(a new knowledge version). Both are audited; both need the right to manage knowledge.

The knowledge editor shows one entry's learned phrasings with the partial template
`_learned_phrasings.html`: `{% include "_learned_phrasings.html" %}` with `who`, `phrasings`
(`KnowledgeService.learned.of_entry(tenant_id, question)`) and `back` (the editor's own page,
where the forms return) in its context."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.services import Services
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.errors import http_status
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
PhrasingId = Annotated[str, Path(max_length=64)]
# Where a form may return: one of the organisation's own knowledge pages, never elsewhere.
_BACK = re.compile(r"/dashboard/o/[A-Za-z0-9_-]{1,64}/knowledge(/[A-Za-z0-9_-]{1,64}){0,4}")


def page(tenant_id: str) -> str:
    return f"/dashboard/o/{tenant_id}/knowledge/learned"


@router.get("/dashboard/o/{tenant_id}/knowledge/learned")
async def learned_phrasings(who: Librarian, services: ServicesDep, request: Request) -> Response:
    return await _page(who, services, request)


async def _page(
    who: Member, services: Services, request: Request, error: ParlourError | None = None
) -> Response:
    """The page; with what went wrong, and the status the API would give, after a form."""
    knowledge = services.knowledge
    entries = await knowledge.faq_entries(who.tenant_id)
    grouped, elsewhere = await knowledge.learned.by_entry(who.tenant_id, entries)
    return render(
        request,
        "learned_phrasings.html",
        who=who,
        grouped=grouped,
        elsewhere=elsewhere,
        back=page(who.tenant_id),
        error=error.message if error else None,
        status_code=http_status(error) if error else 200,
    )


@router.post("/dashboard/o/{tenant_id}/knowledge/learned/{phrasing_id}/remove")
async def remove(
    who: Librarian, services: ServicesDep, request: Request, phrasing_id: PhrasingId
) -> Response:
    back = _back(who, await same_origin_form(request))
    try:
        await services.knowledge.learned.remove(who.tenant_id, phrasing_id, actor=who.actor)
    except ParlourError as error:
        return await _page(who, services, request, error)
    return go(back, Notice.LEARNED_PHRASING_REMOVED)


@router.post("/dashboard/o/{tenant_id}/knowledge/learned/{phrasing_id}/keep")
async def keep(
    who: Librarian, services: ServicesDep, request: Request, phrasing_id: PhrasingId
) -> Response:
    back = _back(who, await same_origin_form(request))
    try:
        await services.knowledge.learned.keep(who.tenant_id, phrasing_id, actor=who.actor)
    except ParlourError as error:
        return await _page(who, services, request, error)
    return go(back, Notice.LEARNED_PHRASING_KEPT)


def _back(who: Member, form: dict[str, str]) -> str:
    """The page the form came from when it is one of this organisation's knowledge pages
    (the editor's, say); else this page."""
    back = form.get("back", "")
    if _BACK.fullmatch(back) and back.startswith(f"/dashboard/o/{who.tenant_id}/"):
        return back
    return page(who.tenant_id)
