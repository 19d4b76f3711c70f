"""The knowledge editor's pages, for members who manage knowledge: the live version's entries
browsed and searched, one FAQ entry edited or removed (each a new version, screened and
audited as an upload: knowledge/editor.py), the versions with publish, roll back and diff
(sources and entries), a source removed, and the "try a question" console (what the assistant
would answer, the passages it retrieved with their scores, and why: assistant/rehearsal.py).

Every change is a form posted from our own pages with the session's CSRF token; the console
is a form too (its question never rides in an address, which access logs keep; T-105). A
search of the entries is a plain GET, like the conversation search: its words are the
organisation's own published ones, and the pages stay linkable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import failed, go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
EntryId = Annotated[str, Path(max_length=64)]
Words = Annotated[str, Query(max_length=200)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
VersionNumber = Annotated[int, Query(ge=0, le=1_000_000)]


def _knowledge(who: Member) -> str:
    return f"/dashboard/o/{who.tenant_id}/knowledge"


@router.get("/dashboard/o/{tenant_id}/knowledge/entries")
async def entries(
    who: Librarian, services: ServicesDep, request: Request, q: Words = "", page: PageNumber = 1
) -> Response:
    listed = await services.knowledge.editor.page(who.tenant_id, q, page=page)
    return render(request, "knowledge_entries.html", who=who, listed=listed)


async def _entry_page(
    request: Request, who: Member, services: ServicesDep, entry_id: str, **context: Any
) -> Response:
    live = await services.knowledge.editor.entry(who.tenant_id, entry_id)
    form = context.pop("form", None) or {
        "question": live.entry.question,
        "phrasings": "\n".join(live.entry.phrasings),
        "answer": live.entry.answer,
    }
    # What customers' picks taught this entry (knowledge/learned.py), to keep or remove.
    learned = await services.knowledge.learned.of_entry(who.tenant_id, live.entry.question)
    return render(
        request, "knowledge_entry.html", who=who, live=live, form=form, learned=learned, **context
    )


@router.get("/dashboard/o/{tenant_id}/knowledge/entries/{entry_id}")
async def entry(
    entry_id: EntryId, who: Librarian, services: ServicesDep, request: Request
) -> Response:
    return await _entry_page(request, who, services, entry_id)


@router.post("/dashboard/o/{tenant_id}/knowledge/entries/{entry_id}")
async def save_entry(
    entry_id: EntryId, who: Librarian, services: ServicesDep, request: Request
) -> Response:
    """A new version with the entry as the form says, published at once."""
    form = await same_origin_form(request)
    fields = {name: form.get(name, "") for name in ("question", "phrasings", "answer")}
    try:
        saved = await services.knowledge.editor.edit(
            who.tenant_id, entry_id, **fields, actor=who.actor
        )
    except ParlourError as error:
        try:
            live = await services.knowledge.editor.entry(who.tenant_id, entry_id)
        except ParlourError:
            return failed(request, "knowledge_entry.html", error, who=who, live=None, form=fields)
        return failed(request, "knowledge_entry.html", error, who=who, live=live, form=fields)
    if saved.entry_id is None:  # screening held the edited entry back for review
        return go(_knowledge(who), Notice.ENTRY_HELD)
    return go(f"{_knowledge(who)}/entries/{saved.entry_id}", Notice.ENTRY_SAVED)


@router.post("/dashboard/o/{tenant_id}/knowledge/entries/{entry_id}/remove")
async def remove_entry(
    entry_id: EntryId, who: Librarian, services: ServicesDep, request: Request
) -> Response:
    await same_origin_form(request)
    try:
        await services.knowledge.editor.remove(who.tenant_id, entry_id, actor=who.actor)
    except ParlourError as error:
        return await _entry_page(request, who, services, entry_id, error=error.message)
    return go(f"{_knowledge(who)}/entries", Notice.ENTRY_REMOVED)


async def _versions_page(
    request: Request, who: Member, services: ServicesDep, **context: Any
) -> Response:
    versions = await services.knowledge.versions(who.tenant_id)
    live = next((v.number for v in versions if v.published), None)
    return render(
        request,
        "knowledge_versions.html",
        who=who,
        versions=versions,
        live=live,
        latest=versions[0] if versions else None,
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/knowledge/versions")
async def versions(who: Librarian, services: ServicesDep, request: Request) -> Response:
    return await _versions_page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/knowledge/versions/{number}/publish")
async def publish(
    number: Annotated[int, Path(ge=1, le=1_000_000)],
    who: Librarian,
    services: ServicesDep,
    request: Request,
) -> Response:
    """Make a version live; an earlier one rolls back. Audited (knowledge.published)."""
    await same_origin_form(request)
    try:
        await services.knowledge.publish(who.tenant_id, number, actor=who.actor)
    except ParlourError as error:
        return await _versions_page(request, who, services, error=error.message)
    return go(f"{_knowledge(who)}/versions", Notice.KNOWLEDGE_PUBLISHED)


@router.post("/dashboard/o/{tenant_id}/knowledge/sources/remove")
async def remove_source(who: Librarian, services: ServicesDep, request: Request) -> Response:
    """A new version without the named source, published (audited knowledge.source_removed)."""
    form = await same_origin_form(request)
    try:
        await services.knowledge.remove_source(
            who.tenant_id, form.get("name", "")[:200], actor=who.actor
        )
    except ParlourError as error:
        return await _versions_page(request, who, services, error=error.message)
    return go(f"{_knowledge(who)}/versions", Notice.SOURCE_REMOVED)


@router.get("/dashboard/o/{tenant_id}/knowledge/diff")
async def diff(
    who: Librarian,
    services: ServicesDep,
    request: Request,
    since: VersionNumber = 0,
    to: VersionNumber = 0,
) -> Response:
    """Two versions compared: sources, and entries by question."""
    versions = await services.knowledge.versions(who.tenant_id)
    context: dict[str, Any] = {"who": who, "versions": versions, "since": since, "to": to}
    if not (since and to):
        return render(request, "knowledge_diff.html", changes=None, **context)
    try:
        changes = await services.knowledge.editor.changes(who.tenant_id, since, to)
    except ParlourError as error:
        return failed(request, "knowledge_diff.html", error, changes=None, **context)
    return render(request, "knowledge_diff.html", changes=changes, **context)


@router.get("/dashboard/o/{tenant_id}/knowledge/try")
async def try_page(who: Librarian, request: Request) -> Response:
    return render(request, "knowledge_try.html", who=who, question="", tried=None)


@router.post("/dashboard/o/{tenant_id}/knowledge/try")
async def try_question(who: Librarian, services: ServicesDep, request: Request) -> Response:
    """What the assistant would answer, from what, and why; nothing is stored."""
    form = await same_origin_form(request)
    question = form.get("question", "")
    try:
        tried = await services.rehearsal.ask(who.tenant_id, question, member_id=who.actor.id)
    except ParlourError as error:
        return failed(request, "knowledge_try.html", error, who=who, question=question, tried=None)
    return render(request, "knowledge_try.html", who=who, question=question, tried=tried)
