"""The agents' desk over HTTP: the conversations a person handles, their messages, a person's
replies, and handing a conversation back to the assistant. For every member whose role
handles conversations (agents, admins, owners); each step is audited with who took it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parlour.chat.models import Conversation, ConversationStatus
from parlour.chat.protocol import message_frame
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Conversations"])

Agent = Annotated[Member, Depends(member(Permission.HANDLE_CONVERSATIONS))]
ConversationParam = Annotated[str, Path(min_length=1, max_length=64)]


class ConversationOut(BaseModel):
    conversation_id: str
    end_user_id: str = Field(description="The customer, as your backend named them.")
    status: Literal["queued", "agent"]
    last_seq: int = Field(description="The number of its latest message.")
    created_at: datetime
    updated_at: datetime | None = Field(description="When its latest message was stored.")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20_000)]


class ReturnedOut(BaseModel):
    returned: bool = Field(description="False: it was with the assistant already.")


def _out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        conversation_id=conversation.conversation_id,
        end_user_id=conversation.end_user_id,
        status=conversation.status.value,
        last_seq=conversation.last_seq,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


@router.get("/v1/organisations/{tenant_id}/conversations")
async def conversations(
    who: Agent,
    services: ServicesDep,
    status: Annotated[Literal["queued", "agent"], Query()] = "queued",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConversationOut]:
    """Waiting for a person (`queued`) or with one (`agent`), the longest quiet first."""
    listed = await services.desk.conversations(
        who.tenant_id, ConversationStatus(status), limit=limit
    )
    return [_out(c) for c in listed]


@router.get("/v1/organisations/{tenant_id}/conversations/{conversation_id}/messages")
async def messages(
    conversation_id: ConversationParam,
    who: Agent,
    services: ServicesDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """The conversation's messages after `after_seq`, oldest first, as the widget sees them
    (docs/protocol.md: `message` and `handoff` frames)."""
    await services.chat.get_conversation(who.tenant_id, conversation_id)
    history = await services.chat.history(
        who.tenant_id, conversation_id, after_seq=after_seq, limit=limit
    )
    return [message_frame(m) for m in history]


@router.post(
    "/v1/organisations/{tenant_id}/conversations/{conversation_id}/messages",
    status_code=201,
    dependencies=[JsonOnly],
)
async def reply(
    conversation_id: ConversationParam, body: ReplyIn, who: Agent, services: ServicesDep
) -> dict[str, Any]:
    """Reply to the customer. The first reply takes the conversation, from the queue or from
    the assistant, which then answers no more until it is handed back."""
    message = await services.desk.reply(who.tenant_id, conversation_id, body.text, actor=who.actor)
    return message_frame(message)


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/return")
async def return_to_assistant(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ReturnedOut:
    """Hand the conversation back to the assistant; the customer is told."""
    returned = await services.desk.return_to_assistant(
        who.tenant_id, conversation_id, actor=who.actor
    )
    return ReturnedOut(returned=returned)
