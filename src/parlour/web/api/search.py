"""Search across an organisation's conversations, for every member who reads the desk
(analysts too): by customer, state, assignee, dates and words (docs/search.md). A conversation
found by its words comes with its newest matching message's snippet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from parlour.chat.models import ConversationStatus
from parlour.identity.policy import Permission
from parlour.search.service import MAX_RESULTS, Found
from parlour.search.service import Query as SearchQuery
from parlour.web.api.conversations import ConversationOut, _out
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member, member

router = APIRouter(tags=["Conversations"])

Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
Status = Literal["bot", "queued", "assigned", "pending", "snoozed", "resolved"]


class MatchOut(BaseModel):
    message_id: str
    seq: int
    author: str = Field(description="`user`, `assistant`, `agent` or `system`.")
    created_at: datetime
    snippet: str = Field(description="Its text around the first word searched for.")


class FoundOut(BaseModel):
    conversation: ConversationOut
    match: MatchOut | None = Field(
        description="Its newest message holding every word; null when no words were searched for."
    )


def _found(found: Found) -> FoundOut:
    message = found.message
    match = (
        MatchOut(
            message_id=message.message_id,
            seq=message.seq,
            author=message.author.value,
            created_at=message.created_at,
            snippet=found.snippet or "",
        )
        if message is not None
        else None
    )
    return FoundOut(conversation=_out(found.conversation), match=match)


@router.get("/v1/organisations/{tenant_id}/search")
async def search(
    who: Reader,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=500, description="Words, all of which must appear.")] = "",
    customer: Annotated[str | None, Query(max_length=200, description="An end user's id.")] = None,
    status: Annotated[Status | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="An account id.")] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> list[FoundOut]:
    """The organisation's conversations, those with the assistant alone included, that match
    every criterion given: words (whole words, after folding case and accents; no prefixes),
    customer, state, assignee, and activity between `from` and `to` (ISO 8601 with offset).
    Newest first. Messages are searchable a few seconds after they are stored."""
    found = await services.search.search(
        who.tenant_id,
        SearchQuery(
            text=q,
            end_user_id=customer,
            status=ConversationStatus(status) if status else None,
            assignee=assignee,
            since=since,
            until=until,
            limit=limit,
        ),
    )
    return [_found(f) for f in found]
