"""The agents' desk over HTTP: the conversations people handle and their messages, for every
member who reads the desk (analysts too); a person's replies, assignment (to oneself, to a
member, to nobody), pending, snoozing, resolving, reopening and handing a conversation back to
the assistant, for members whose role handles conversations (agents, admins, owners). Each step
is a compare-and-set (chat/lifecycle.py): one that finds the conversation otherwise answers
409 `conflict`; each is audited with who took it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.chat.models import Conversation, ConversationStatus
from parlour.chat.protocol import message_frame
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Conversations"])

Agent = Annotated[Member, Depends(member(Permission.HANDLE_CONVERSATIONS))]
Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
ConversationParam = Annotated[str, Path(min_length=1, max_length=64)]
AccountParam = Annotated[str, Path(min_length=1, max_length=64)]
Listed = Literal["queued", "assigned", "pending", "snoozed", "resolved", "agent"]


class ConversationOut(BaseModel):
    conversation_id: str
    end_user_id: str = Field(description="The customer, as your backend named them.")
    status: Literal["bot", "queued", "assigned", "pending", "snoozed", "resolved"] = Field(
        description="With the assistant (`bot`), waiting for a person (`queued`), with a person "
        "(`assigned`), waiting on the customer (`pending`), put aside until `snoozed_until` "
        "(`snoozed`), or `resolved`."
    )
    assignee: str | None = Field(description="The account of the member who has it.")
    snoozed_until: datetime | None
    team_id: str | None = Field(default=None, description="The team whose queue it is in.")
    last_seq: int = Field(description="The number of its latest message.")
    created_at: datetime
    updated_at: datetime | None = Field(description="When its latest message was stored.")
    customer_read_seq: int = Field(description="The customer has seen up to this message.")
    agent_read_seq: int = Field(description="Its people have seen up to this message.")


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: datetime = Field(description="When it comes back, with its offset, within a year.")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20_000)]


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: Annotated[int, Field(ge=0)] = Field(description="Seen up to this message's number.")


class ReadOut(BaseModel):
    moved: bool = Field(description="False: seen that far already; the customer is told nothing.")


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(description="True while you type; false when you stop.")


class ReturnedOut(BaseModel):
    returned: bool = Field(description="False: it was with the assistant already.")


def _out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        conversation_id=conversation.conversation_id,
        end_user_id=conversation.end_user_id,
        status=conversation.status.value,
        assignee=conversation.assignee,
        snoozed_until=conversation.snoozed_until,
        team_id=conversation.team_id,
        last_seq=conversation.last_seq,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        customer_read_seq=conversation.customer_read_seq,
        agent_read_seq=conversation.agent_read_seq,
    )


conversation_out = _out  # what the teams' routes answer with too


@router.get("/v1/organisations/{tenant_id}/conversations")
async def conversations(
    who: Reader,
    services: ServicesDep,
    status: Annotated[Listed, Query()] = "queued",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    team_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[ConversationOut]:
    """Those in `status` (in `team_id`'s queue only, when given), the longest quiet first
    (`agent`, the name before `assigned`, is still understood). Snoozed conversations whose
    time has come wake first."""
    wanted = ConversationStatus.ASSIGNED if status == "agent" else ConversationStatus(status)
    listed = await services.desk.conversations(who.tenant_id, wanted, limit=limit, team_id=team_id)
    return [_out(c) for c in listed]


@router.get("/v1/organisations/{tenant_id}/conversations/{conversation_id}")
async def conversation(
    conversation_id: ConversationParam, who: Reader, services: ServicesDep
) -> ConversationOut:
    return _out(await services.chat.get_conversation(who.tenant_id, conversation_id))


@router.get("/v1/organisations/{tenant_id}/conversations/{conversation_id}/messages")
async def messages(
    conversation_id: ConversationParam,
    who: Reader,
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
    return [message_frame(m, services.chat.links) for m in history]


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
    return message_frame(message, services.chat.links)


@router.post(
    "/v1/organisations/{tenant_id}/conversations/{conversation_id}/read",
    dependencies=[JsonOnly],
)
async def read(
    conversation_id: ConversationParam, body: ReadIn, who: Agent, services: ServicesDep
) -> ReadOut:
    """The conversation's people have seen it up to `seq` (only ever forward): the customer's
    widget is sent a `read` frame and shows the message as seen."""
    moved = await services.desk.read(who.tenant_id, conversation_id, body.seq, actor=who.actor)
    return ReadOut(moved=moved)


@router.post(
    "/v1/organisations/{tenant_id}/conversations/{conversation_id}/typing",
    status_code=204,
    dependencies=[JsonOnly],
)
async def typing(
    conversation_id: ConversationParam, body: TypingIn, who: Agent, services: ServicesDep
) -> Response:
    """You are (or stopped) typing: the customer's widget shows "<your display name> is
    typing…". Not stored; the members' live socket says the same."""
    await services.desk.typing(who.tenant_id, conversation_id, body.active, actor=who.actor)
    return Response(status_code=204)


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/return")
async def return_to_assistant(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ReturnedOut:
    """Hand the conversation back to the assistant; the customer is told."""
    returned = await services.desk.return_to_assistant(
        who.tenant_id, conversation_id, actor=who.actor
    )
    return ReturnedOut(returned=returned)


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/take")
async def take(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Assign it to yourself, if nobody has it (409 when someone does); the customer is told a
    person joined."""
    return _out(await services.desk.take(who.tenant_id, conversation_id, actor=who.actor))


@router.put("/v1/organisations/{tenant_id}/conversations/{conversation_id}/assignee/{account_id}")
async def assign(
    conversation_id: ConversationParam,
    account_id: AccountParam,
    who: Agent,
    services: ServicesDep,
) -> ConversationOut:
    """Give an open conversation to a member whose role handles conversations, whoever had it;
    any other account is not found."""
    return _out(
        await services.desk.assign(who.tenant_id, conversation_id, account_id, actor=who.actor)
    )


@router.delete("/v1/organisations/{tenant_id}/conversations/{conversation_id}/assignee")
async def unassign(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Back to the queue, with nobody assigned; the customer is told they wait for a person."""
    return _out(await services.desk.unassign(who.tenant_id, conversation_id, actor=who.actor))


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/pending")
async def set_pending(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Waiting on the customer, whose next message brings it back to its person or the queue."""
    return _out(await services.desk.set_pending(who.tenant_id, conversation_id, actor=who.actor))


@router.post(
    "/v1/organisations/{tenant_id}/conversations/{conversation_id}/snooze",
    dependencies=[JsonOnly],
)
async def snooze(
    conversation_id: ConversationParam, body: SnoozeIn, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Put aside until `until` (a time to come, within a year), or the customer's next
    message."""
    return _out(
        await services.desk.snooze(who.tenant_id, conversation_id, body.until, actor=who.actor)
    )


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/resolve")
async def resolve(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Resolved, its assignee kept; the customer is told. A customer's next message reopens it,
    to its assignee, else to the assistant."""
    return _out(await services.desk.resolve(who.tenant_id, conversation_id, actor=who.actor))


@router.post("/v1/organisations/{tenant_id}/conversations/{conversation_id}/reopen")
async def reopen(
    conversation_id: ConversationParam, who: Agent, services: ServicesDep
) -> ConversationOut:
    """A resolved conversation back to its assignee, else to the queue (409 when it is not
    resolved)."""
    return _out(await services.desk.reopen(who.tenant_id, conversation_id, actor=who.actor))
