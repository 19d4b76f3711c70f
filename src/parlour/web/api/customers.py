"""A conversation's customer panel over HTTP, for every member who reads the desk: who the
customer is as the organisation's verified token said (a visitor is anonymous), their other
conversations, and the assistant's turns in this one with citations and provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from parlour.customers.panel import Panel
from parlour.identity.policy import Permission
from parlour.web.api.conversations import ConversationOut, _out
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member, member

router = APIRouter(tags=["Conversations"])

Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
ConversationParam = Annotated[str, Path(min_length=1, max_length=64)]


class CustomerOut(BaseModel):
    end_user_id: str
    anonymous: bool = Field(description="A visitor: nobody vouched for who they are.")
    traits: dict[str, str] = Field(
        description="`name` and `email` as the latest verified token said; empty if none did."
    )
    verified_at: datetime | None = Field(description="When that token was issued.")


class CitationOut(BaseModel):
    id: str
    title: str
    url: str | None = Field(default=None, description="Its source's page (https), if any.")


class TurnOut(BaseModel):
    message_id: str = Field(description="The answer (or refusal) it produced.")
    created_at: datetime
    outcome: str
    reason: str | None
    provider: str
    model: str
    template_version: int | None = Field(description="Null: Parlour's default template.")
    knowledge_version: int | None
    citations: list[CitationOut]


class PanelOut(BaseModel):
    customer: CustomerOut
    previous: list[ConversationOut] = Field(description="Their other conversations, newest first.")
    turns: list[TurnOut] = Field(description="The assistant's turns here, oldest first.")


def panel_out(panel: Panel) -> PanelOut:
    profile = panel.profile
    return PanelOut(
        customer=CustomerOut(
            end_user_id=panel.conversation.end_user_id,
            anonymous=panel.anonymous,
            traits=dict(profile.traits) if profile else {},
            verified_at=profile.verified_at if profile else None,
        ),
        previous=[_out(c) for c in panel.previous],
        turns=[
            TurnOut(
                message_id=t.record.message_id,
                created_at=t.record.created_at,
                outcome=t.record.outcome.value,
                reason=t.record.reason,
                provider=t.record.provider,
                model=t.record.model,
                template_version=t.record.template_version,
                knowledge_version=t.record.knowledge_version,
                citations=[CitationOut(**c.as_json()) for c in t.citations],
            )
            for t in panel.turns
        ],
    )


@router.get("/v1/organisations/{tenant_id}/conversations/{conversation_id}/customer")
async def customer_panel(
    conversation_id: ConversationParam, who: Reader, services: ServicesDep
) -> PanelOut:
    return panel_out(await services.customer_panel.panel(who.tenant_id, conversation_id))
