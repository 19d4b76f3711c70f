"""Customers' ratings of a conversation's resolutions, with their comments, for the members who
read conversations (agents, admins, owners, analysts). Reports give the figures; this is each
rating as it was given."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member, member

router = APIRouter(tags=["Conversations"])

Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
ConversationParam = Annotated[str, Path(min_length=1, max_length=64)]


class RatingOut(BaseModel):
    score: int = Field(description="1 to 5.")
    comment: str | None = Field(description="The customer's own words, if any.")
    agent_id: str | None = Field(description="The member who had the conversation.")
    resolved_at: datetime = Field(description="The resolution rated.")
    rated_at: datetime


@router.get("/v1/organisations/{tenant_id}/conversations/{conversation_id}/ratings")
async def ratings(
    conversation_id: ConversationParam, who: Reader, services: ServicesDep
) -> list[RatingOut]:
    """One per resolution the customer rated, oldest first."""
    found = await services.ratings.of_conversation(who.tenant_id, conversation_id)
    return [
        RatingOut(
            score=r.score,
            comment=r.comment,
            agent_id=r.agent_id,
            resolved_at=r.resolved_at,
            rated_at=r.rated_at,
        )
        for r in found
    ]
