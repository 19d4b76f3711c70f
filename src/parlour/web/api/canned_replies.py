"""An organisation's canned replies over HTTP: members whose role handles conversations read
them (to insert them with `/shortcut`); admins and owners create, change and remove them, each
change audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.chat.models import CannedReply
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Canned replies"])

User = Annotated[Member, Depends(member(Permission.HANDLE_CONVERSATIONS))]
Manager = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
ReplyParam = Annotated[str, Path(min_length=1, max_length=64)]
REPLIES = "/v1/organisations/{tenant_id}/canned-replies"


class CannedReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="What agents type after `/`: lower-case letters and digits in words joined "
        "by hyphens (`refund-policy`), unique in the organisation."
    )
    body: Annotated[str, Field(min_length=1, max_length=20_000)] = Field(
        description="The text inserted, held to the rule for messages."
    )


class CannedReplyOut(BaseModel):
    reply_id: str
    shortcut: str
    body: str
    created_at: datetime
    updated_at: datetime


def _out(reply: CannedReply) -> CannedReplyOut:
    return CannedReplyOut(
        reply_id=reply.reply_id,
        shortcut=reply.shortcut,
        body=reply.body,
        created_at=reply.created_at,
        updated_at=reply.updated_at,
    )


@router.get(REPLIES)
async def canned_replies(who: User, services: ServicesDep) -> list[CannedReplyOut]:
    """The organisation's canned replies, by shortcut."""
    return [_out(r) for r in await services.canned_replies.all(who.tenant_id)]


@router.post(REPLIES, status_code=201, dependencies=[JsonOnly])
async def create_canned_reply(
    body: CannedReplyIn, who: Manager, services: ServicesDep
) -> CannedReplyOut:
    """A new canned reply (409 when its shortcut is taken)."""
    reply = await services.canned_replies.create(
        who.tenant_id, body.shortcut, body.body, actor=who.actor
    )
    return _out(reply)


@router.put(REPLIES + "/{reply_id}", dependencies=[JsonOnly])
async def change_canned_reply(
    reply_id: ReplyParam, body: CannedReplyIn, who: Manager, services: ServicesDep
) -> CannedReplyOut:
    """Its shortcut and body replaced (409 when the shortcut is another reply's)."""
    reply = await services.canned_replies.change(
        who.tenant_id, reply_id, body.shortcut, body.body, actor=who.actor
    )
    return _out(reply)


@router.delete(REPLIES + "/{reply_id}", status_code=204)
async def remove_canned_reply(
    reply_id: ReplyParam, who: Manager, services: ServicesDep
) -> Response:
    await services.canned_replies.remove(who.tenant_id, reply_id, actor=who.actor)
    return Response(status_code=204)
