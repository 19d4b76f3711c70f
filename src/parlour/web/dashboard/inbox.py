"""The inbox: the conversations waiting for a person, assigned, waiting on the customer, snoozed
and resolved; a conversation's messages, a reply to the customer, assigning it to oneself,
unassigning, resolving, reopening and handing it back to the assistant (the agents' desk, for
every member whose role handles conversations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.chat.desk import DESK_STATUSES, AgentDesk
from parlour.errors import NotFound, ParlourError
from parlour.identity.policy import Permission
from parlour.web.dashboard.pages import failed, go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Agent = Annotated[Member, Depends(member_page(Permission.HANDLE_CONVERSATIONS))]
SHOWN = 200  # messages on a conversation's page: the latest ones


@router.get("/dashboard/o/{tenant_id}/inbox")
async def inbox(who: Agent, services: ServicesDep, request: Request) -> Response:
    lists = {
        status.value: await services.desk.conversations(who.tenant_id, status, limit=100)
        for status in DESK_STATUSES
    }
    return render(request, "inbox.html", who=who, lists=lists)


async def _conversation(
    who: Member, services: ServicesDep, conversation_id: str, **context: Any
) -> dict[str, Any]:
    """What the conversation's page shows: its latest messages, the customer panel, and the
    reply form."""
    conversation = await services.chat.get_conversation(who.tenant_id, conversation_id)
    after = max(0, conversation.last_seq - SHOWN)
    messages = await services.chat.history(
        who.tenant_id, conversation_id, after_seq=after, limit=SHOWN
    )
    panel = await services.customer_panel.panel(who.tenant_id, conversation_id)
    return {
        "who": who,
        "conversation": conversation,
        "messages": messages,
        "panel": panel,
        **context,
    }


@router.get("/dashboard/o/{tenant_id}/inbox/{conversation_id}")
async def conversation(
    conversation_id: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    context = await _conversation(who, services, conversation_id)
    return render(request, "conversation.html", **context)


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}")
async def reply(
    conversation_id: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    form = await same_origin_form(request)
    try:
        await services.desk.reply(
            who.tenant_id, conversation_id, form.get("text", ""), actor=who.actor
        )
    except ParlourError as error:
        context = await _conversation(who, services, conversation_id, draft=form)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}")


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/return")
async def return_to_assistant(conversation_id: str, who: Agent, services: ServicesDep) -> Response:
    await services.desk.return_to_assistant(who.tenant_id, conversation_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/inbox")


# The buttons of a conversation's page that take one step of the desk, then show it again.
STEPS: dict[str, Callable[..., Awaitable[object]]] = {
    "take": AgentDesk.take,
    "unassign": AgentDesk.unassign,
    "resolve": AgentDesk.resolve,
    "reopen": AgentDesk.reopen,
}


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/{step}")
async def take_step(
    conversation_id: str, step: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    """The step, then the conversation's page again (or its error)."""
    act = STEPS.get(step)
    if act is None:
        raise NotFound()
    await same_origin_form(request)
    try:
        await act(services.desk, who.tenant_id, conversation_id, actor=who.actor)
    except ParlourError as error:
        context = await _conversation(who, services, conversation_id)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}")
