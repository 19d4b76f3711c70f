"""A conversation's private notes over HTTP (T-99): members whose role handles conversations
write them (agents, admins, owners), every member who reads the desk reads them (analysts too).
They are for the organisation's people only: no route of the customer's side, and nothing the
widget or the webhooks read, carries them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parlour.chat.models import Note
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Conversations"])

Agent = Annotated[Member, Depends(member(Permission.HANDLE_CONVERSATIONS))]
Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
ConversationParam = Annotated[str, Path(min_length=1, max_length=64)]
NOTES = "/v1/organisations/{tenant_id}/conversations/{conversation_id}/notes"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20_000)]


class NoteOut(BaseModel):
    note_id: str
    conversation_id: str
    author: str = Field(description="The account of the member who wrote it.")
    text: str
    created_at: datetime


def _out(note: Note) -> NoteOut:
    return NoteOut(
        note_id=note.note_id,
        conversation_id=note.conversation_id,
        author=note.author_id,
        text=note.body,
        created_at=note.created_at,
    )


@router.get(NOTES)
async def notes(
    conversation_id: ConversationParam,
    who: Reader,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NoteOut]:
    """The conversation's latest notes, oldest first."""
    listed = await services.notes.latest(who.tenant_id, conversation_id, limit=limit)
    return [_out(n) for n in listed]


@router.post(NOTES, status_code=201, dependencies=[JsonOnly])
async def write_note(
    conversation_id: ConversationParam, body: NoteIn, who: Agent, services: ServicesDep
) -> NoteOut:
    """A private note for the organisation's people; the customer never sees it."""
    note = await services.notes.add(who.tenant_id, conversation_id, body.text, actor=who.actor)
    return _out(note)
