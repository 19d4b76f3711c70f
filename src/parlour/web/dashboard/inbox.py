"""The inbox: the conversations waiting for a person, assigned, waiting on the customer, snoozed
and resolved (of one team, if the member picks one), with what the member has not read, and the
member's presence; a conversation's messages with private notes among them, a reply to the
customer (a reply that is exactly `/shortcut` is sent as that canned reply, for browsers without
script), assigning it to oneself, unassigning, resolving, reopening, putting it in a team and
handing it back to the assistant (the agents' desk, for every member whose role handles
conversations); the member's desk preferences. Both pages update by themselves over the live
desk socket (static/desk.js, docs/desk.md) and work fully without it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from parlour.chat.desk import DESK_STATUSES, AgentDesk
from parlour.chat.desk_marks import DeskPreferences
from parlour.errors import InvalidInput, NotFound, ParlourError, PayloadTooLarge
from parlour.identity.policy import Permission
from parlour.settings import Settings
from parlour.web.dashboard.desk_tools import desk_tools
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import failed, go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member
from parlour.web.request_limits import FORM_OVERHEAD_BYTES, body_limit

router = APIRouter(include_in_schema=False)

Agent = Annotated[Member, Depends(member_page(Permission.HANDLE_CONVERSATIONS))]
SHOWN = 200  # messages on a conversation's page: the latest ones


@router.get("/dashboard/o/{tenant_id}/inbox")
async def inbox(
    who: Agent, services: ServicesDep, request: Request, team: str | None = None
) -> Response:
    """The lists, of one team's conversations when `team` names one; the member's presence."""
    teams = await services.teams.teams(who.tenant_id)
    team_id = team if team in {t.team_id for t in teams} else None
    lists = {
        status.value: await services.desk.conversations(
            who.tenant_id, status, limit=100, team_id=team_id
        )
        for status in DESK_STATUSES
    }
    listed = [c.conversation_id for listing in lists.values() for c in listing]
    marks = services.desk_marks
    reads = await marks.reads(who.tenant_id, who.actor.id, listed)
    preferences = await marks.preferences(who.tenant_id, who.actor.id)
    presence = await services.presence.state(who.tenant_id, who.actor.id)
    return render(
        request,
        "inbox.html",
        who=who,
        lists=lists,
        teams=teams,
        team_id=team_id,
        presence=presence.value,
        reads=reads,
        preferences=preferences,
    )


@router.post("/dashboard/o/{tenant_id}/presence")
async def choose_presence(who: Agent, services: ServicesDep, request: Request) -> Response:
    """The member's own choice, available or away."""
    form = await same_origin_form(request)
    await services.presence.choose(who.tenant_id, who.actor.id, form.get("presence", ""))
    return go(f"/dashboard/o/{who.tenant_id}/inbox")


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
    teams = await services.teams.teams(who.tenant_id)
    preferences = await services.desk_marks.preferences(who.tenant_id, who.actor.id)
    panel = await services.customer_panel.panel(who.tenant_id, conversation_id)
    return {
        "who": who,
        "conversation": conversation,
        "messages": messages,
        **await desk_tools(who, services, conversation_id, messages, shown_from_start=after == 0),
        "teams": teams,
        "preferences": preferences,
        "panel": panel,
        # Messages' files are shown through freshly signed links (T-102).
        "links": services.chat.links,
        "attachment_max_bytes": services.attachments.limits.max_bytes,
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
        # Without script, a reply that is exactly `/shortcut` is sent as that canned reply.
        text = await services.canned_replies.expand(who.tenant_id, form.get("text", ""))
        await services.desk.reply(who.tenant_id, conversation_id, text, actor=who.actor)
    except ParlourError as error:
        context = await _conversation(who, services, conversation_id, draft=form)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}")


def _attach_limit(settings: Settings) -> int:
    return settings.attachments.max_bytes + FORM_OVERHEAD_BYTES


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/attach")
@body_limit(_attach_limit)
async def reply_with_file(
    conversation_id: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    """A reply that carries one file (its text may be empty): the file judged, sealed and
    kept (chat/attachments.py, T-102), then sent with the reply."""
    form = await request.form()
    file = form.get("file")
    text = form.get("text")
    limit = services.attachments.limits.max_bytes
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("Choose a file to attach.")
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"A file may be at most {limit} bytes.")
        stored = await services.attachments.upload(
            who.tenant_id, conversation_id, file.filename, data, actor=who.actor
        )
        await services.desk.reply(
            who.tenant_id,
            conversation_id,
            text if isinstance(text, str) else "",
            actor=who.actor,
            attachment_ids=[stored.attachment_id],
        )
    except ParlourError as error:
        draft = {"text": text} if isinstance(text, str) else {}
        context = await _conversation(who, services, conversation_id, draft=draft)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}")


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/notes")
async def write_note(
    conversation_id: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    """A private note (T-99), then the page again at the note form (or with its error, the
    note's text kept)."""
    form = await same_origin_form(request)
    try:
        await services.notes.add(
            who.tenant_id, conversation_id, form.get("text", ""), actor=who.actor
        )
    except ParlourError as error:
        context = await _conversation(who, services, conversation_id, note_draft=form)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}#note-form")


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/return")
async def return_to_assistant(conversation_id: str, who: Agent, services: ServicesDep) -> Response:
    await services.desk.return_to_assistant(who.tenant_id, conversation_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/inbox")


@router.post("/dashboard/o/{tenant_id}/inbox/{conversation_id}/team")
async def place_in_team(
    conversation_id: str, who: Agent, services: ServicesDep, request: Request
) -> Response:
    """Put the conversation in the chosen team's queue (none: in no team's)."""
    form = await same_origin_form(request)
    try:
        await services.teams.place(
            who.tenant_id, conversation_id, form.get("team_id") or None, actor=who.actor
        )
    except ParlourError as error:
        context = await _conversation(who, services, conversation_id)
        return failed(request, "conversation.html", error, **context)
    return go(f"/dashboard/o/{who.tenant_id}/inbox/{conversation_id}")


@router.post("/dashboard/o/{tenant_id}/desk-preferences")
async def desk_preferences(who: Agent, services: ServicesDep, request: Request) -> Response:
    """The member's choice of browser notifications and a sound on the desk, in this
    organisation (the form is on the account page)."""
    form = await same_origin_form(request)
    chosen = DeskPreferences(notify=form.get("notify") == "on", sound=form.get("sound") == "on")
    await services.desk_marks.set_preferences(who.tenant_id, who.actor.id, chosen)
    return go("/dashboard/account", Notice.DESK_PREFERENCES_SAVED)


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
