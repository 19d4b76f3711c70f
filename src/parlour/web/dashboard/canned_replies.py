"""The canned replies page: the organisation's prepared answers, which members who handle
conversations read here and insert in a conversation's reply box with `/shortcut`; admins and
owners add, change and remove them (each change audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import failed, go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

User = Annotated[Member, Depends(member_page(Permission.HANDLE_CONVERSATIONS))]
Manager = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
PAGE = "canned_replies.html"


async def _context(who: Member, services: ServicesDep, **context: Any) -> dict[str, Any]:
    return {
        "who": who,
        "replies": await services.canned_replies.all(who.tenant_id),
        "manages": role_grants(who.membership.role, Permission.MANAGE_SETTINGS),
        **context,
    }


def _here(who: Member) -> str:
    return f"/dashboard/o/{who.tenant_id}/canned-replies"


@router.get("/dashboard/o/{tenant_id}/canned-replies")
async def canned_replies(who: User, services: ServicesDep, request: Request) -> Response:
    return render(request, PAGE, **await _context(who, services))


@router.post("/dashboard/o/{tenant_id}/canned-replies")
async def create(who: Manager, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        await services.canned_replies.create(
            who.tenant_id, form.get("shortcut", ""), form.get("body", ""), actor=who.actor
        )
    except ParlourError as error:
        return failed(request, PAGE, error, **await _context(who, services, draft=form))
    return go(_here(who), Notice.CANNED_REPLY_SAVED)


@router.post("/dashboard/o/{tenant_id}/canned-replies/{reply_id}")
async def change(reply_id: str, who: Manager, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        await services.canned_replies.change(
            who.tenant_id,
            reply_id,
            form.get("shortcut", ""),
            form.get("body", ""),
            actor=who.actor,
        )
    except ParlourError as error:
        context = await _context(who, services, editing=reply_id, edit_draft=form)
        return failed(request, PAGE, error, **context)
    return go(_here(who), Notice.CANNED_REPLY_SAVED)


@router.post("/dashboard/o/{tenant_id}/canned-replies/{reply_id}/remove")
async def remove(reply_id: str, who: Manager, services: ServicesDep, request: Request) -> Response:
    await same_origin_form(request)
    await services.canned_replies.remove(who.tenant_id, reply_id, actor=who.actor)
    return go(_here(who), Notice.CANNED_REPLY_REMOVED)
