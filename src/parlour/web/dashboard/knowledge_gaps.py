"""The minimum FAQ editor a knowledge gap opens (the gaps themselves are a section of the Reports
page): a form that adds one entry and publishes it as a new version (through the upload path:
screened, held back for review when suspicious, audited).

A gap's button names the unanswered question by its id; the form is prefilled from it on the
server. Its text never rides in an address, which access logs keep (T-105)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.web.dashboard.pages import failed, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
QuestionId = Annotated[str, Query(max_length=64)]


@router.get("/dashboard/o/{tenant_id}/knowledge/new-entry")
async def new_entry(
    who: Librarian, services: ServicesDep, request: Request, question: QuestionId = ""
) -> Response:
    """The form, its question taken from an unanswered question when one is named."""
    draft = ""
    if question:
        unanswered = await services.knowledge.gaps.question(who.tenant_id, question)
        draft = unanswered.question if unanswered else ""
    return render(request, "new_entry.html", who=who, question=draft, answer="")


@router.post("/dashboard/o/{tenant_id}/knowledge/new-entry")
async def add_entry(who: Librarian, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    question, answer = form.get("question", ""), form.get("answer", "")
    try:
        report = await services.knowledge.entries.add(
            who.tenant_id, question, answer, actor=who.actor
        )
    except ParlourError as error:
        return failed(request, "new_entry.html", error, who=who, question=question, answer=answer)
    return render(request, "new_entry.html", who=who, question="", answer="", report=report)
